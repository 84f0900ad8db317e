"""SPC: individuals/moving-range and X-bar/R charts, the Western Electric rules, Cp and Cpk.

Limits come from a baseline period (the process in control):

    I-MR:    sigma = mean moving range / d2(2);  I: centre +- 3 sigma;  MR: D3(2)·MR̄ .. D4(2)·MR̄
    X̄-R:     sigma = mean range / d2(n);        X̄: X̿ +- A2(n)·R̄ (= 3 sigma / √n);  R: D3(n)·R̄ .. D4(n)·R̄

The Western Electric rules (Western Electric, *Statistical Quality Control Handbook*, 1956) test the
individuals or subgroup means against zones of the plotted statistic's sigma (a third of the distance
from the centre line to a control limit); a violation is reported at the point that completes it:

    1  one point beyond 3 sigma
    2  two of three successive points beyond 2 sigma on the same side (the reported point one of them)
    3  four of five successive points beyond 1 sigma on the same side (the reported point one of them)
    4  eight successive points on the same side of the centre line

Capability against specification limits uses the baseline's centre and sigma (within-subgroup):
Cp = (USL - LSL) / 6 sigma, Cpk = min(USL - centre, centre - LSL) / 3 sigma (one-sided with one limit).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Control chart constants for subgroup size n: (d2, A2, D3, D4), as tabulated in ASTM STP 15D
# ("ASTM Manual on Presentation of Data and Control Chart Analysis", 1976) and D. C. Montgomery,
# "Introduction to Statistical Quality Control", Appendix VI. A2 = 3 / (d2 √n), D3 = max(0, 1 - 3 d3/d2),
# D4 = 1 + 3 d3/d2 (the tests check A2 against d2).
CONSTANTS: dict[int, tuple[float, float, float, float]] = {
    2: (1.128, 1.880, 0.0, 3.267),
    3: (1.693, 1.023, 0.0, 2.574),
    4: (2.059, 0.729, 0.0, 2.282),
    5: (2.326, 0.577, 0.0, 2.114),
    6: (2.534, 0.483, 0.0, 2.004),
    7: (2.704, 0.419, 0.076, 1.924),
    8: (2.847, 0.373, 0.136, 1.864),
    9: (2.970, 0.337, 0.184, 1.816),
    10: (3.078, 0.308, 0.223, 1.777),
}
I_MR, XBAR_R = "i-mr", "xbar-r"


@dataclass(frozen=True)
class Limits:
    center: float
    lower: float
    upper: float


@dataclass(frozen=True)
class Plotted:
    """What a chart plots: a value (individual or subgroup mean) and a range per point, and its time."""

    timestamps: np.ndarray
    values: np.ndarray
    ranges: np.ndarray  # NaN for the first individual (no moving range)


@dataclass(frozen=True)
class Chart:
    values: Limits
    ranges: Limits
    sigma: float  # of the process (individual measurements)

    @property
    def zone(self) -> float:
        """One sigma of the plotted statistic."""
        return (self.values.upper - self.values.center) / 3


def plotted(kind: str, n: int, timestamps: np.ndarray, values: np.ndarray) -> Plotted:
    """Individuals with their moving ranges, or consecutive subgroups of ``n`` (a partial last one left out)."""
    if kind == I_MR:
        ranges = np.concatenate([[np.nan], np.abs(np.diff(values))])
        return Plotted(timestamps, values, ranges)
    k = values.size // n
    groups = values[: k * n].reshape(k, n)
    return Plotted(timestamps[n - 1 : k * n : n], groups.mean(axis=1), np.ptp(groups, axis=1))


def limits(kind: str, n: int, baseline: Plotted) -> Chart:
    """Control limits from the baseline's plotted points (at least two; sigma must not be zero)."""
    size = 2 if kind == I_MR else n
    d2, a2, d3, d4 = CONSTANTS[size]
    r_bar = float(np.nanmean(baseline.ranges))
    center = float(np.mean(baseline.values))
    sigma = r_bar / d2
    spread = 3 * sigma if kind == I_MR else a2 * r_bar
    return Chart(
        Limits(center, center - spread, center + spread), Limits(r_bar, d3 * r_bar, d4 * r_bar), sigma
    )


RULES = (1, 2, 3, 4)


def violations(chart: Chart, values: np.ndarray) -> list[tuple[int, int]]:
    """(index, rule) of every Western Electric violation, in order of index and rule."""
    z = (values - chart.values.center) / chart.zone
    found = []
    for i in range(z.size):
        found += [(i, rule) for rule in RULES if _breaks(rule, z, i)]
    return found


def _breaks(rule: int, z: np.ndarray, i: int) -> bool:
    if rule == 1:
        return abs(z[i]) > 3
    if rule == 4:
        window = z[i - 7 : i + 1] if i >= 7 else None
        return window is not None and (bool(np.all(window > 0)) or bool(np.all(window < 0)))
    size, needed, beyond = (3, 2, 2) if rule == 2 else (5, 4, 1)
    if i < size - 1:
        return False
    window = z[i - size + 1 : i + 1]
    side = np.sign(z[i])
    return abs(z[i]) > beyond and int(np.sum(window * side > beyond)) >= needed


def capability(chart: Chart, lower: float | None, upper: float | None) -> tuple[float | None, float]:
    """(Cp, Cpk) of the baseline process; Cp needs both limits."""
    mu, sigma = chart.values.center, chart.sigma
    cp = (upper - lower) / (6 * sigma) if lower is not None and upper is not None else None
    sides = [(upper - mu) / (3 * sigma)] if upper is not None else []
    sides += [(mu - lower) / (3 * sigma)] if lower is not None else []
    return cp, min(sides)
