"""Turning decoded blocks into answers: merged point columns and time buckets (pure numpy)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import tscodec


@dataclass(frozen=True)
class Buckets:
    starts: np.ndarray
    counts: np.ndarray
    mins: np.ndarray
    maxs: np.ndarray
    sums: np.ndarray

    @property
    def avgs(self) -> np.ndarray:
        return self.sums / self.counts


def merged_points(payloads: list[bytes], start_ns: int, end_ns: int) -> tuple[np.ndarray, np.ndarray]:
    """All points of the blocks inside [start_ns, end_ns), ordered by time (stable across blocks)."""
    if not payloads:
        return np.empty(0, np.int64), np.empty(0, np.float64)
    decoded = [tscodec.decode(p) for p in payloads]
    timestamps = np.concatenate([d[0] for d in decoded])
    values = np.concatenate([d[1] for d in decoded])
    if len(decoded) > 1:
        order = np.argsort(timestamps, kind="stable")
        timestamps, values = timestamps[order], values[order]
    lo, hi = np.searchsorted(timestamps, [start_ns, end_ns], side="left")
    return timestamps[lo:hi], values[lo:hi]


def bucketize(timestamps: np.ndarray, values: np.ndarray, bucket_ns: int) -> Buckets:
    """Count, min, max and sum per bucket aligned to multiples of ``bucket_ns``; NaN points are left out."""
    keep = ~np.isnan(values)
    timestamps, values = timestamps[keep], values[keep]
    if timestamps.size == 0:
        empty = np.empty(0)
        return Buckets(np.empty(0, np.int64), np.empty(0, np.int64), empty, empty, empty)
    keys = (timestamps // bucket_ns) * bucket_ns
    starts, first = np.unique(keys, return_index=True)
    counts = np.diff(np.append(first, keys.size))
    return Buckets(
        starts=starts,
        counts=counts,
        mins=np.minimum.reduceat(values, first),
        maxs=np.maximum.reduceat(values, first),
        sums=np.add.reduceat(values, first),
    )
