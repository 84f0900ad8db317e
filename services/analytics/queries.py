"""Turning blocks into answers: merged point columns, and bucket statistics from block statistics and points.

Aggregates and M4 chart columns are the same computation over a ``Grid`` (services/analytics/grids.py):
every block wholly inside one bucket (and known to hold no NaN) contributes its stored statistics as
they are, and so does every rollup entry the planner chose (services/runtime/rollups.py); every other
block is decoded and contributes per bucket it touches (``tscodec.bucket_parts``,
compiled: no per-point arrays beyond the decoded block). Both kinds are rows of ``PARTS``; ``combine``
merges the rows of each bucket. A statistics row knows its first and last point (a block's ``start_ns``
and ``end_ns``: blocks are stored in time order) but not where its minimum and maximum lie: those
timestamps are ``UNKNOWN_TS`` in it, and in the answer when such a row holds a bucket's extreme first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import tscodec
from services.analytics.grids import Grid
from services.runtime import rollups
from tscodec.summaries import PARTS

UNKNOWN_TS = np.iinfo(np.int64).min
SUMMARIES = np.dtype(  # the stored statistics of a block
    [("start_ns", np.int64), ("end_ns", np.int64), ("count", np.int64), ("min", np.float64),
     ("max", np.float64), ("sum", np.float64), ("first", np.float64), ("last", np.float64)]
)  # fmt: skip


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


def summaries(rows: list[tuple]) -> np.ndarray:
    """Rows of (start, end, count, min, max, sum, first, last) as a ``SUMMARIES`` array."""
    return np.array(rows, SUMMARIES) if rows else np.empty(0, SUMMARIES)


def from_stats(grid: Grid, blocks: np.ndarray) -> np.ndarray:
    """``PARTS`` rows of blocks (``SUMMARIES``) each wholly inside one bucket."""
    return _known_parts(grid, blocks, blocks["start_ns"], blocks["end_ns"])


def from_rollups(grid: Grid, entries: list[np.ndarray]) -> np.ndarray:
    """``PARTS`` rows of rollup entries (``rollups.STATS``), each inside one bucket (the caller chose a
    width every bucket edge is a multiple of)."""
    stats = np.concatenate([np.empty(0, rollups.STATS), *entries])
    return _known_parts(grid, stats, stats["first_ts"], stats["last_ts"])


def _known_parts(grid: Grid, rows: np.ndarray, first_ts: np.ndarray, last_ts: np.ndarray) -> np.ndarray:
    """``PARTS`` rows from stored statistics: where their extremes lie is not known."""
    parts = np.empty(rows.size, PARTS)
    parts["bucket"] = grid.index(first_ts)
    parts["first_ts"], parts["last_ts"] = first_ts, last_ts
    for field in ("count", "min", "max", "sum", "first", "last"):
        parts[field] = rows[field]
    parts["m2"] = 0.0
    parts["min_ts"] = parts["max_ts"] = UNKNOWN_TS
    return parts


def from_payloads(grid: Grid, payloads: list[bytes], with_m2: bool) -> np.ndarray:
    """``PARTS`` rows of decoded blocks: one per block and bucket it has points in."""
    return tscodec.bucket_parts(payloads, grid.edges, with_m2)


def combine(grid: Grid, parts: np.ndarray, with_stddev: bool = False) -> Buckets:
    """Each bucket's statistics from its ``PARTS`` rows (any order in, time order of buckets out).

    A bucket's extreme is taken from the row holding it earliest: at its known time, or for a statistics
    row (time unknown) at its first point, the earliest the extreme can be there.
    """
    if parts.size == 0:
        ints, floats = np.empty(0, np.int64), np.empty(0)
        return Buckets(ints, ints, floats, floats, floats, ints, floats, ints, floats, ints, ints,
                       floats if with_stddev else None)  # fmt: skip
    parts = parts[np.lexsort((parts["first_ts"], parts["bucket"]))]
    bucket = parts["bucket"]
    starts = np.flatnonzero(np.diff(bucket, prepend=bucket[0] - 1))
    group = np.cumsum(np.diff(bucket, prepend=bucket[0]) != 0)
    latest = np.lexsort((parts["last_ts"], bucket))[np.append(starts[1:], bucket.size) - 1]
    counts = np.add.reduceat(parts["count"], starts)
    sums = np.add.reduceat(parts["sum"], starts)
    mins, min_ts = _extreme(parts, "min", group, np.minimum)
    maxs, max_ts = _extreme(parts, "max", group, np.maximum)
    stddevs = None
    if with_stddev:  # each row's squared deviations, moved from its own mean to the bucket's
        shift = parts["sum"] / parts["count"] - (sums / counts)[group]
        spread = parts["m2"] + parts["count"] * shift * shift
        stddevs = np.sqrt(np.add.reduceat(spread, starts) / counts)
    return Buckets(
        starts=grid.starts[bucket[starts]],
        counts=counts,
        mins=mins,
        maxs=maxs,
        sums=sums,
        first_ts=parts["first_ts"][starts],
        firsts=parts["first"][starts],
        last_ts=parts["last_ts"][latest],
        lasts=parts["last"][latest],
        min_ts=min_ts,
        max_ts=max_ts,
        stddevs=stddevs,
    )


def _extreme(parts: np.ndarray, field: str, group: np.ndarray, ufunc):
    """Per group the extreme of ``field`` and its time (rows sorted by group; see ``combine``)."""
    values, times = parts[field], parts[f"{field}_ts"]
    best = ufunc.reduceat(values, np.flatnonzero(np.diff(group, prepend=-1)))
    holders = np.flatnonzero(values == best[group])
    when = np.where(times[holders] == UNKNOWN_TS, parts["first_ts"][holders], times[holders])
    holders = holders[np.lexsort((when, group[holders]))]
    first = holders[np.flatnonzero(np.diff(group[holders], prepend=-1))]
    return values[first], times[first]
