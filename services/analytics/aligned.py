"""Several series on one time axis: one aggregate function of each series' buckets, placed on the buckets
where any of them has points (a series without points in a bucket is absent there, never zero)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.analytics.queries import Buckets

FUNCTIONS = {
    "count": lambda b: b.counts,
    "min": lambda b: b.mins,
    "max": lambda b: b.maxs,
    "sum": lambda b: b.sums,
    "avg": lambda b: b.avgs,
    "first": lambda b: b.firsts,
    "last": lambda b: b.lasts,
}


@dataclass(frozen=True)
class Aligned:
    """``starts``: the axis; per series (in the order asked) its values and where it has any."""

    starts: np.ndarray
    values: list[np.ndarray]  # NaN where absent
    present: list[np.ndarray]


def align(columns: list[Buckets], function: str) -> Aligned:
    """One axis from the bucket starts of all ``columns`` (each in time order), and the values on it."""
    starts = np.unique(np.concatenate([b.starts for b in columns])) if columns else np.empty(0, np.int64)
    values, present = [], []
    for b in columns:
        at = np.searchsorted(starts, b.starts)
        column = np.full(starts.size, np.nan)
        column[at] = FUNCTIONS[function](b)
        has = np.zeros(starts.size, bool)
        has[at] = True
        values.append(column)
        present.append(has)
    return Aligned(starts.astype(np.int64), values, present)
