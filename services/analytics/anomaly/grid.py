"""A machine's series on one grid of fixed steps: the rows the detector is fitted on and scores.

Series arrive at their own rates and times, and the detector wants one row per moment with a value of
every series. Each step's value of a series is the mean of its finite points in the step; a series
without points in a step keeps its last value (carried from earlier steps, or from an earlier call:
causal, as scoring must be); a step where no series has a point is no row at all (a stopped machine is
not scored), and a row is only made once every series has had a value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Rows:
    starts: np.ndarray  # each row's step start (ns)
    values: np.ndarray  # one row per step, one column per series
    carry: np.ndarray  # each series' last value after these rows (NaN: none yet), for the next call


def grid_rows(
    series: list[tuple[np.ndarray, np.ndarray]], step_ns: int, start_ns: int, end_ns: int, carry: np.ndarray
) -> Rows:
    """The rows of the whole steps in [start_ns, end_ns) from each series' (timestamps, values)."""
    steps = max((end_ns - start_ns) // step_ns, 0)
    width = len(series)
    sums, counts = np.zeros((steps, width)), np.zeros((steps, width))
    for j, (timestamps, values) in enumerate(series):
        keep = (timestamps >= start_ns) & (timestamps < start_ns + steps * step_ns) & np.isfinite(values)
        at = (timestamps[keep] - start_ns) // step_ns
        sums[:, j] = np.bincount(at, weights=values[keep], minlength=steps)
        counts[:, j] = np.bincount(at, minlength=steps)
    seen = counts.sum(axis=1) > 0
    means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)[seen]
    filled = _carried_forward(np.vstack([np.asarray(carry, np.float64)[None, :], means]))
    complete = ~np.isnan(filled[1:]).any(axis=1)
    starts = start_ns + np.flatnonzero(seen).astype(np.int64) * step_ns
    return Rows(starts[complete], filled[1:][complete], filled[-1])


def _carried_forward(rows: np.ndarray) -> np.ndarray:
    """Each NaN replaced by the last value above it in its column (NaN where there is none)."""
    index = np.where(np.isnan(rows), 0, np.arange(len(rows))[:, None])
    np.maximum.accumulate(index, axis=0, out=index)
    return rows[index, np.arange(rows.shape[1])]
