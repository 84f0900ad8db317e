"""SPC arithmetic on hand-worked examples: the constants, I-MR and X̄-R limits, each Western Electric
rule on hand-made sequences, Cp/Cpk (services/analytics/production/spc.py). The same numbers through
gRPC, with a real series, are in test_production.py."""

from __future__ import annotations

import math

import numpy as np
import pytest

from services.analytics.production import spc
from services.analytics.production.spc import Chart, Limits


def test_constants_agree_with_d2():
    """A2 = 3 / (d2 √n) for every tabulated n (both are rounded to three decimals)."""
    for n, (d2, a2, d3, d4) in spc.CONSTANTS.items():
        assert a2 == pytest.approx(3 / (d2 * math.sqrt(n)), abs=0.002), n
        assert d3 == 0 or d3 + d4 == pytest.approx(2, abs=0.002), n  # D3 = 1 - 3 d3/d2, D4 = 1 + 3 d3/d2
    assert sorted(spc.CONSTANTS) == list(range(2, 11))


def test_individuals_limits_by_hand():
    """Values 5, 7, 6, 8, 7: mean 33 / 5 = 6.6; moving ranges 2, 1, 2, 1, mean 1.5;
    sigma = 1.5 / 1.128 = 1.329787; I limits 6.6 ± 3 x 1.329787 = 2.610638 .. 10.589362;
    MR limits 0 .. 3.267 x 1.5 = 4.9005."""
    values = np.array([5.0, 7, 6, 8, 7])
    plotted = spc.plotted(spc.I_MR, 1, np.arange(5), values)
    chart = spc.limits(spc.I_MR, 1, plotted)
    assert chart.values.center == pytest.approx(6.6)
    assert chart.sigma == pytest.approx(1.329787, abs=1e-6)
    assert (chart.values.lower, chart.values.upper) == pytest.approx((2.610638, 10.589362), abs=1e-6)
    assert (chart.ranges.lower, chart.ranges.center, chart.ranges.upper) == pytest.approx((0, 1.5, 4.9005))
    assert np.isnan(plotted.ranges[0]) and plotted.ranges[1:].tolist() == [2, 1, 2, 1]


def test_subgroup_limits_by_hand():
    """n = 4: subgroups (10, 12, 11, 13), (9, 11, 10, 12), (11, 12, 12, 13) have means 11.5, 10.5, 12 and
    ranges 3, 3, 2; X̿ = 34 / 3 = 11.333333, R̄ = 8 / 3 = 2.666667; A2(4) = 0.729: X̄ limits
    11.333333 ± 1.944 = 9.389333 .. 13.277333; R limits 0 .. 2.282 x 2.666667 = 6.085333;
    sigma = 2.666667 / 2.059 = 1.295127. The two extra points (an incomplete subgroup) are left out."""
    values = np.array([10.0, 12, 11, 13, 9, 11, 10, 12, 11, 12, 12, 13, 50, 50])
    plotted = spc.plotted(spc.XBAR_R, 4, np.arange(14) * 10, values)
    assert plotted.values.tolist() == [11.5, 10.5, 12] and plotted.ranges.tolist() == [3, 3, 2]
    assert plotted.timestamps.tolist() == [30, 70, 110]  # each subgroup's last point
    chart = spc.limits(spc.XBAR_R, 4, plotted)
    assert chart.values.center == pytest.approx(11.333333, abs=1e-6)
    assert (chart.values.lower, chart.values.upper) == pytest.approx((9.389333, 13.277333), abs=1e-6)
    assert (chart.ranges.lower, chart.ranges.upper) == pytest.approx((0, 6.085333), abs=1e-6)
    assert chart.sigma == pytest.approx(1.295127, abs=1e-6)


UNIT = Chart(Limits(0, -3, 3), Limits(1, 0, 3), 1.0)  # centre 0, one sigma of the plotted values = 1


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # Rule 1: the 3rd point is beyond +3 sigma, the 5th beyond -3 (3.0 itself is not beyond).
        ([0.5, -0.5, 3.2, 0.1, -3.5, 3.0], [(2, 1), (4, 1)]),
        # Rule 2: 2.5 and 2.1 are two of three beyond +2 sigma; reported at the second.
        ([0.0, 2.5, 1.0, 2.1, -0.5], [(3, 2)]),
        # Not rule 2: beyond 2 sigma on opposite sides.
        ([0.0, 2.5, -2.5, 0.0], []),
        # Rule 3: four of five beyond +1 sigma (1.5, 1.2, 0.3 not, 1.8, 1.1): at the fifth.
        ([-0.5, 1.5, 1.2, 0.3, 1.8, 1.1, -0.2], [(5, 3)]),
        # Rule 4: eight in a row below the centre, and the ninth too.
        ([0.5, -0.1, -0.2, -0.3, -0.1, -0.5, -0.4, -0.2, -0.6, -0.3, 0.2], [(8, 4), (9, 4)]),
        # Seven below is not enough.
        ([-0.1] * 7 + [0.1], []),
    ],
)
def test_western_electric_rules(values, expected):
    assert spc.violations(UNIT, np.array(values)) == expected


def test_rules_use_the_sigma_of_subgroup_means():
    """An X̄ chart's zones are thirds of A2·R̄ (= sigma / √n), not the process sigma."""
    chart = Chart(Limits(10, 7, 13), Limits(2, 0, 4), 2.0)  # A2 R̄ = 3: one zone is 1.0
    assert spc.violations(chart, np.array([10.0, 12.5, 12.2])) == [(2, 2)]


def test_capability_of_a_known_sample():
    """The I-MR sample above (centre 6.6, sigma 1.329787) against LSL 2, USL 12:
    Cp = 10 / (6 x 1.329787) = 1.253333; Cpk = min(12 - 6.6, 6.6 - 2) / (3 x 1.329787) = 4.6 / 3.989362
    = 1.153067. With only the upper limit: Cp unknown, Cpk = 5.4 / 3.989362 = 1.353600."""
    chart = spc.limits(spc.I_MR, 1, spc.plotted(spc.I_MR, 1, np.arange(5), np.array([5.0, 7, 6, 8, 7])))
    cp, cpk = spc.capability(chart, 2.0, 12.0)
    assert (cp, cpk) == pytest.approx((1.253333, 1.153067), abs=1e-6)
    assert spc.capability(chart, None, 12.0) == (None, pytest.approx(1.353600, abs=1e-6))
