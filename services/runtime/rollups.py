"""Rollups: the statistics of each minute or hour of a series, kept where block statistics fall short.

Block statistics answer a bucket for every block inside it. They fall short for an hour of many blocks
(a fast series: more points than one compacted block holds), where a query over hours reads every
block row, and for buckets smaller than a block (minutes), where every block is decoded. The worker
therefore keeps, for an hour it compacts (services/worker/service.py):

- a **per-hour** rollup when the hour has more than one block, and
- a **per-minute** rollup when the hour's payloads are large enough that its 60 entries cost at most
  ``MAX_SHARE`` of them (a fast series; a 1 Hz series decodes quicker than it would read rollups).

A rollup row is one (series, width, UTC hour) with the entries of its minutes (or its hour) that hold
points, as packed ``STATS`` records. Writers that change an hour's blocks delete its rollups in the same
transaction (migration 0012), so a row that exists is current. The query engine uses them for aggregates
whose bucket edges are all multiples of the width (services/analytics/service.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tscodec.summaries import PARTS, point_parts

MINUTE_NS = 60 * 10**9
HOUR_NS = 3600 * 10**9
WIDTHS = (HOUR_NS, MINUTE_NS)  # coarsest first: a query takes the first its buckets allow
MAX_SHARE = 0.05  # a rollup is kept only if it costs at most this share of the payload bytes it sums up
STATS = np.dtype(  # one entry: the statistics of one minute or hour (NaN values left out)
    [("count", np.int64), ("min", np.float64), ("max", np.float64), ("sum", np.float64),
     ("first_ts", np.int64), ("first", np.float64), ("last_ts", np.int64), ("last", np.float64)]
)  # fmt: skip


@dataclass(frozen=True)
class Rollup:
    width_ns: int
    hour_ns: int
    stats: bytes


def hour_of(ns: int) -> int:
    return ns - ns % HOUR_NS


def worth_keeping(width_ns: int, blocks: int, payload_bytes: int) -> bool:
    """Whether a rollup of this width saves a query work for an hour of ``blocks`` blocks and
    ``payload_bytes`` bytes of payloads, at a storage cost of at most ``MAX_SHARE``."""
    if width_ns == HOUR_NS and blocks < 2:
        return False  # the one block's own statistics are the hour's
    return (HOUR_NS // width_ns) * STATS.itemsize <= MAX_SHARE * payload_bytes


class HourRollups:
    """The rollups of one hour, from its points (one per timestamp) given a piece at a time, each piece
    later than the one before: a fast series' hour need never be held whole (its blocks are decoded one
    at a time, services/worker/merging.py)."""

    def __init__(self, hour_ns: int, widths: tuple[int, ...] = WIDTHS) -> None:
        self.hour_ns = hour_ns
        self._edges = {w: np.arange(hour_ns, hour_ns + HOUR_NS + 1, w) for w in widths}
        self._parts: dict[int, list[np.ndarray]] = {w: [] for w in widths}

    def add(self, timestamps: np.ndarray, values: np.ndarray) -> None:
        for width, parts in self._parts.items():
            parts.append(point_parts(timestamps, values, self._edges[width]))

    def worth_keeping(self, blocks: int, payload_bytes: int) -> list[Rollup]:
        """The rollups worth keeping for the hour stored in ``blocks`` blocks of ``payload_bytes``."""
        return [self.of(width) for width in self._parts if worth_keeping(width, blocks, payload_bytes)]

    def of(self, width_ns: int) -> Rollup:
        parts = np.concatenate([np.empty(0, PARTS), *self._parts[width_ns]])  # buckets ascending
        starts = np.flatnonzero(np.diff(parts["bucket"], prepend=-1))
        entries = np.empty(starts.size, STATS)
        if starts.size:
            ends = np.append(starts[1:], parts.size) - 1
            with np.errstate(over="ignore", invalid="ignore"):  # values near the float limits may add to inf
                for field, ufunc in (
                    ("count", np.add),
                    ("sum", np.add),
                    ("min", np.minimum),
                    ("max", np.maximum),
                ):
                    entries[field] = ufunc.reduceat(parts[field], starts)
            for field in ("first_ts", "first"):
                entries[field] = parts[field][starts]
            for field in ("last_ts", "last"):
                entries[field] = parts[field][ends]
        return Rollup(width_ns, self.hour_ns, entries.tobytes())


def summarise(hour_ns: int, width_ns: int, timestamps: np.ndarray, values: np.ndarray) -> Rollup:
    """The rollup of one width of an hour's points (any order)."""
    hour = HourRollups(hour_ns, (width_ns,))
    hour.add(timestamps, values)
    return hour.of(width_ns)


def unpack(stats: bytes) -> np.ndarray:
    return np.frombuffer(stats, STATS)


def usable_width(edges: np.ndarray) -> int | None:
    """The coarsest rollup width every bucket edge inside a range is a multiple of, if any."""
    inner = edges[1:-1]
    for width in WIDTHS:
        if not np.any(inner % width):
            return width
    return None
