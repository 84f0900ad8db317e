"""An hour's blocks as points in time order, and the blocks and rollups made from them, holding about one
block's points at a time instead of the hour's.

A fast series' hour is large: at 90,000 points a second it holds 324 million points, 5 GB once decoded
and twice that to sort. Blocks that do not overlap in time (ingest writes a live series in time order)
are decoded one at a time, earliest first, and their points cut into blocks of the target size as they
come; only blocks that overlap (a backfill over live data) are decoded and sorted together.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from itertools import pairwise

import numpy as np

import tscodec
from services.runtime import rollups
from services.runtime.blocks import Block, encode_block
from services.worker.storage import StoredBlock

Points = tuple[np.ndarray, np.ndarray]


def merged_points(parts: list[Points]) -> Points:
    """The points of blocks given oldest first, in time order, one per timestamp: the first read wins."""
    timestamps = np.concatenate([p[0] for p in parts])
    values = np.concatenate([p[1] for p in parts])
    order = np.argsort(timestamps, kind="stable")
    timestamps, values = timestamps[order], values[order]
    first = np.ones(timestamps.size, dtype=bool)
    first[1:] = timestamps[1:] != timestamps[:-1]
    return timestamps[first], values[first]


def points_in_order(blocks: list[StoredBlock]) -> Iterator[Points]:
    """The blocks' points in time order, one per timestamp, in pieces (``blocks`` oldest stored first)."""
    by_time = sorted(blocks, key=lambda b: (b.start_ns, b.id))
    if any(later.start_ns <= earlier.end_ns for earlier, later in pairwise(by_time)):
        yield merged_points([tscodec.decode(b.payload) for b in blocks])
        return
    for block in by_time:
        timestamps, values = tscodec.decode(block.payload)
        if np.any(timestamps[1:] <= timestamps[:-1]):  # a device's block need not be in order
            timestamps, values = merged_points([(timestamps, values)])
        yield timestamps, values


def in_blocks_of(pieces: Iterable[Points], target: int) -> Iterator[Points]:
    """The points of ``pieces`` regrouped into runs of ``target`` (the last may be shorter)."""
    held: list[Points] = []
    size = 0
    for piece in pieces:
        held.append(piece)
        size += piece[0].size
        if size >= target:
            timestamps, values = (np.concatenate(column) for column in zip(*held, strict=True))
            whole = size - size % target
            for i in range(0, whole, target):
                yield timestamps[i : i + target], values[i : i + target]
            held, size = [(timestamps[whole:], values[whole:])], size - whole
    if size:
        yield tuple(np.concatenate(column) for column in zip(*held, strict=True))


def rework(
    series_id: uuid.UUID, hour_ns: int, old: list[StoredBlock], merge: bool, target: int
) -> tuple[list[Block], list[rollups.Rollup]]:
    """The hour's merged blocks (none unless ``merge``) and the rollups worth keeping for it."""
    summary = rollups.HourRollups(hour_ns)
    pieces = points_in_order(old)
    new = []
    if merge:
        for timestamps, values in in_blocks_of(pieces, target):
            summary.add(timestamps, values)
            new.append(encode_block(series_id, timestamps, values))
    else:
        for timestamps, values in pieces:
            summary.add(timestamps, values)
    kept = new if merge else old
    return new, summary.worth_keeping(len(kept), sum(len(b.payload) for b in kept))
