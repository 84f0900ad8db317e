"""Statistics of blocks per time bucket, for the blocks a query must decode (the reference version).

A query that answers buckets from block statistics still decodes the blocks that straddle a bucket
edge. ``bucket_parts(blobs, edges, with_m2)`` gives, for every blob and every bucket its points fall in,
one row of ``PARTS``: how many points, their minimum, maximum and sum, the first and last point, where
the minimum and maximum first occur (the earliest holder), and with ``with_m2`` the sum of squared
deviations from the row's mean (so buckets combine an exact variance). Points outside
``[edges[0], edges[-1])`` and NaN values count nowhere; bucket ``k`` holds ``[edges[k], edges[k+1])``.
Rows come blob by blob, buckets ascending within a blob.

The compiled kernel (``_kernels``) gives the same rows without building per-point arrays beyond the
decoded block; this numpy version is the fallback and the definition the kernel is tested against.
"""

from __future__ import annotations

import numpy as np

PARTS = np.dtype(
    [("bucket", np.int64), ("count", np.int64), ("min", np.float64), ("max", np.float64),
     ("sum", np.float64), ("m2", np.float64), ("first_ts", np.int64), ("first", np.float64),
     ("last_ts", np.int64), ("last", np.float64), ("min_ts", np.int64), ("max_ts", np.int64)]
)  # fmt: skip


def bucket_parts(blobs, edges, with_m2: bool = False) -> np.ndarray:
    from tscodec import decode

    return np.concatenate([np.empty(0, PARTS), *(point_parts(*decode(b), edges, with_m2) for b in blobs)])


def point_parts(timestamps: np.ndarray, values: np.ndarray, edges, with_m2: bool = False) -> np.ndarray:
    """The rows of one block's points (any order), as ``bucket_parts`` gives them for its blob."""
    edges = np.ascontiguousarray(edges, dtype=np.int64)
    keep = (timestamps >= edges[0]) & (timestamps < edges[-1]) & ~np.isnan(values)
    timestamps, values = timestamps[keep], values[keep]
    order = np.argsort(timestamps, kind="stable")
    timestamps, values = timestamps[order], values[order]
    bounds = np.searchsorted(timestamps, edges, side="left")
    sizes = np.diff(bounds)
    buckets = np.flatnonzero(sizes)
    out = np.empty(buckets.size, PARTS)
    if buckets.size == 0:
        return out
    starts, counts = bounds[buckets], sizes[buckets]
    ends = starts + counts - 1
    group = np.repeat(np.arange(buckets.size), counts)
    with np.errstate(over="ignore", invalid="ignore"):  # values near the float limits may add to inf
        sums = np.add.reduceat(values, starts)
    out["bucket"], out["count"], out["sum"] = buckets, counts, sums
    out["first_ts"], out["first"] = timestamps[starts], values[starts]
    out["last_ts"], out["last"] = timestamps[ends], values[ends]
    for field, ufunc in (("min", np.minimum), ("max", np.maximum)):
        best = ufunc.reduceat(values, starts)
        holders = np.flatnonzero(values == best[group])
        first_holder = holders[np.flatnonzero(np.diff(group[holders], prepend=-1))]
        out[field], out[f"{field}_ts"] = values[first_holder], timestamps[first_holder]
    out["m2"] = 0.0
    if with_m2:
        deviations = values - np.repeat(sums / counts, counts)
        out["m2"] = np.add.reduceat(deviations * deviations, starts)
    return out
