"""Turning blocks into answers: merged point columns, and bucket statistics from block headers and points.

Aggregates and M4 chart columns are the same computation over a ``Grid`` (services/analytics/grids.py):
every block wholly inside one bucket (and free of NaN) contributes its header statistics as they are;
the points of every other block are decoded, bucketed and contribute per bucket. ``combine`` merges the
contributions of each bucket. A statistics row knows its first and last point (a block's ``start_ns`` and
``end_ns``: blocks are stored in time order) but not where its minimum and maximum lie: those timestamps
are ``UNKNOWN_TS`` when a statistics row wins them. Pure numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import tscodec
from services.analytics.grids import Grid
from tscodec import format_v2

UNKNOWN_TS = np.iinfo(np.int64).min
HEADER_PREFIX_BYTES = 32  # version 2: 9 fixed bytes, two uvarints of at most 10 bytes, the NaN count


@dataclass(frozen=True)
class Buckets:
    """Per bucket with points, in time order: its statistics (``stddevs`` only when asked)."""

    starts: np.ndarray
    counts: np.ndarray
    mins: np.ndarray
    maxs: np.ndarray
    sums: np.ndarray
    first_ts: np.ndarray
    firsts: np.ndarray
    last_ts: np.ndarray
    lasts: np.ndarray
    min_ts: np.ndarray
    max_ts: np.ndarray
    stddevs: np.ndarray | None = None

    @property
    def avgs(self) -> np.ndarray:
        return self.sums / self.counts


@dataclass(frozen=True)
class Parts:
    """Contributions to buckets: one row per (block or bucket of decoded points)."""

    bucket: np.ndarray
    count: np.ndarray
    min: np.ndarray
    max: np.ndarray
    sum: np.ndarray
    first_ts: np.ndarray
    first: np.ndarray
    last_ts: np.ndarray
    last: np.ndarray
    min_ts: np.ndarray
    max_ts: np.ndarray

    @classmethod
    def concat(cls, parts: list[Parts]) -> Parts:
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in cls.__dataclass_fields__))

    def take(self, order: np.ndarray) -> Parts:
        return Parts(*(getattr(self, f)[order] for f in self.__dataclass_fields__))


def without_nan_blocks(heads: list[bytes]) -> np.ndarray:
    """Which blocks surely hold no NaN value, from the first ``HEADER_PREFIX_BYTES`` of their payloads.

    ``tscodec.stats`` wants the whole blob; a prefix keeps the payload of a statistics-served block out of
    the query. docs/CODEC.md: a version 2 header starts with magic, version, checksum (9 bytes) and the
    uvarints count, payload size and NaN count; a NaN count of 0 is the single byte 0 (anything else, or
    a version 1 blob, counts as "may hold NaN", which costs only a decode).
    """
    if not heads:
        return np.empty(0, bool)
    raw = np.frombuffer(
        b"".join(h[:HEADER_PREFIX_BYTES].ljust(HEADER_PREFIX_BYTES, b"\xff") for h in heads), np.uint8
    )
    raw = raw.reshape(len(heads), HEADER_PREFIX_BYTES)
    varints = raw[:, format_v2.FIXED_SIZE :]
    ends = np.cumsum(varints < 0x80, axis=1)  # uvarints ended so far, at each byte
    nan_at = np.argmax(ends == 2, axis=1) + 1  # the NaN count starts after the second uvarint's last byte
    has_two = ends[:, -2] >= 2
    rows = np.arange(len(heads))
    return (
        (raw[:, 4] == format_v2.VERSION)
        & has_two
        & (varints[rows, np.minimum(nan_at, varints.shape[1] - 1)] == 0)
    )


def merged_points(payloads: list[bytes], start_ns: int, end_ns: int) -> tuple[np.ndarray, np.ndarray]:
    """All points of the blocks inside [start_ns, end_ns), ordered by time (stable across blocks)."""
    if not payloads:
        return np.empty(0, np.int64), np.empty(0, np.float64)
    decoded = [tscodec.decode(p) for p in payloads]
    timestamps = np.concatenate([d[0] for d in decoded])
    values = np.concatenate([d[1] for d in decoded])
    if len(decoded) > 1 and np.any(timestamps[1:] < timestamps[:-1]):
        order = np.argsort(timestamps, kind="stable")
        timestamps, values = timestamps[order], values[order]
    lo, hi = np.searchsorted(timestamps, [start_ns, end_ns], side="left")
    return timestamps[lo:hi], values[lo:hi]


def without_nan(timestamps: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = ~np.isnan(values)
    return timestamps[keep], values[keep]


def from_stats(grid: Grid, rows: list[tuple]) -> Parts:
    """Parts of blocks each wholly inside one bucket: rows of (start, end, count, min, max, sum, first, last)."""
    if not rows:
        return _empty_parts()
    start, end, count, low, high, total, first, last = (np.array(c) for c in zip(*rows, strict=True))
    start, end = start.astype(np.int64), end.astype(np.int64)
    unknown = np.full(start.size, UNKNOWN_TS, np.int64)
    floats = [np.asarray(c, np.float64) for c in (low, high, total)]
    return Parts(grid.index(start), count.astype(np.int64), *floats, start, first.astype(np.float64),
                 end, last.astype(np.float64), unknown, unknown)  # fmt: skip


def from_points(grid: Grid, timestamps: np.ndarray, values: np.ndarray) -> Parts:
    """Parts of time-ordered, NaN-free points in the grid's range: one per bucket."""
    if timestamps.size == 0:
        return _empty_parts()
    buckets, starts, counts = _runs(grid, timestamps)
    group = np.repeat(np.arange(buckets.size), counts)
    ends = starts + counts - 1
    mins, min_at = _extreme(values, group, starts, np.minimum)
    maxs, max_at = _extreme(values, group, starts, np.maximum)
    return Parts(
        bucket=buckets,
        count=counts,
        min=mins,
        max=maxs,
        sum=np.add.reduceat(values, starts),
        first_ts=timestamps[starts],
        first=values[starts],
        last_ts=timestamps[ends],
        last=values[ends],
        min_ts=timestamps[min_at],
        max_ts=timestamps[max_at],
    )


def stddevs(grid: Grid, timestamps: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Population standard deviation per bucket with points (two passes, for accuracy)."""
    if timestamps.size == 0:
        return np.empty(0)
    _, starts, counts = _runs(grid, timestamps)
    deviations = values - np.repeat(np.add.reduceat(values, starts) / counts, counts)
    return np.sqrt(np.add.reduceat(deviations * deviations, starts) / counts)


def combine(grid: Grid, parts: Parts, stddev: np.ndarray | None = None) -> Buckets:
    """Each bucket's statistics from its parts (any order in, time order of buckets out)."""
    if parts.bucket.size == 0:
        ints, floats = np.empty(0, np.int64), np.empty(0)
        return Buckets(ints, ints, floats, floats, floats, ints, floats, ints, floats, ints, ints, stddev)
    by_first = parts.take(np.lexsort((parts.first_ts, parts.bucket)))
    group, starts = _groups(by_first.bucket)
    last_order = np.lexsort((by_first.last_ts, by_first.bucket))
    latest = last_order[np.append(starts[1:], by_first.bucket.size) - 1]
    mins, min_at = _extreme(by_first.min, group, starts, np.minimum)
    maxs, max_at = _extreme(by_first.max, group, starts, np.maximum)
    return Buckets(
        starts=grid.starts[by_first.bucket[starts]],
        counts=np.add.reduceat(by_first.count, starts),
        mins=mins,
        maxs=maxs,
        sums=np.add.reduceat(by_first.sum, starts),
        first_ts=by_first.first_ts[starts],
        firsts=by_first.first[starts],
        last_ts=by_first.last_ts[latest],
        lasts=by_first.last[latest],
        min_ts=by_first.min_ts[min_at],
        max_ts=by_first.max_ts[max_at],
        stddevs=stddev,
    )


def _runs(grid: Grid, timestamps: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For sorted timestamps inside the grid: the buckets with points, where their points start, how many."""
    bounds = np.searchsorted(timestamps, grid.edges, side="left")
    sizes = np.diff(bounds)
    buckets = np.flatnonzero(sizes)
    return buckets, bounds[buckets], sizes[buckets]


def _groups(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For sorted ``keys``: each element's group number and where each group starts."""
    if keys.size == 0:
        return keys, keys
    starts = np.flatnonzero(np.diff(keys, prepend=keys[0] - 1))
    return np.cumsum(np.diff(keys, prepend=keys[0]) != 0), starts


def _extreme(
    values: np.ndarray, group: np.ndarray, starts: np.ndarray, ufunc
) -> tuple[np.ndarray, np.ndarray]:
    """Per group the extreme value and the index of its first holder (rows are in time order)."""
    if starts.size == 0:
        return values, starts
    best = ufunc.reduceat(values, starts)
    holders = np.flatnonzero(values == best[group])
    at = holders[np.flatnonzero(np.diff(group[holders], prepend=-1))]  # holders are in group order
    return values[at], at


def _empty_parts() -> Parts:
    ints, floats = np.empty(0, np.int64), np.empty(0, np.float64)
    return Parts(ints, ints, floats, floats, floats, ints, floats, ints, floats, ints, ints)
