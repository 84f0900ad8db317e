"""The one layout rule of `telemetry.blocks` that every service reading or writing it relies on.

A block holds the points of one series within one UTC hour. Ingest splits a batch at hour boundaries
and compaction merges within an hour, so a block never crosses a weekly partition either. Readers use
the rule to bound a range scan from below: the blocks that overlap ``[lo, hi)`` all start after
``lo - BLOCK_SPAN_NS``, which lets PostgreSQL skip older partitions and index entries.
"""

from __future__ import annotations

import itertools

import numpy as np

BLOCK_SPAN_NS = 3600 * 10**9


def hour_runs(timestamps: np.ndarray) -> list[slice]:
    """The slices of sorted ``timestamps`` that fall in one UTC hour each, in order."""
    hours = np.floor_divide(timestamps, BLOCK_SPAN_NS)
    edges = np.flatnonzero(np.diff(hours)) + 1
    bounds = [0, *edges.tolist(), timestamps.size]
    return [slice(a, b) for a, b in itertools.pairwise(bounds) if b > a]
