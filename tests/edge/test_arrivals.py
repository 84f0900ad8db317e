"""The plant's rate as the agent measures it: steady, bursty, uneven and stopped plants."""

from __future__ import annotations

import pytest

from edge.arrivals import ArrivalRate


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def produce(rate: ArrivalRate, clock: Clock, per_second: list[int], writes_per_second: int = 10) -> None:
    """Write each second's readings in ``writes_per_second`` even writes."""
    for readings in per_second:
        for _ in range(writes_per_second):
            if readings:
                rate.record(readings // writes_per_second)
            clock.now += 1 / writes_per_second


def test_a_steady_plant_is_measured_at_its_rate():
    clock = Clock()
    rate = ArrivalRate(clock=clock)
    produce(rate, clock, [200] * 30)
    assert rate.per_second() == pytest.approx(200)


def test_until_four_whole_seconds_are_seen_the_rate_is_not_known():
    clock = Clock()
    rate = ArrivalRate(clock=clock)
    produce(rate, clock, [200] * 4)  # a partial first second, three whole ones, a last
    assert rate.per_second() == 0
    produce(rate, clock, [200] * 2)
    assert rate.per_second() == pytest.approx(200)


def test_a_burst_after_a_restart_does_not_raise_the_rate():
    """A broker hands over in one second what it held while the agent restarted."""
    clock = Clock()
    rate = ArrivalRate(clock=clock)
    produce(rate, clock, [8_000, 24_000, *[8_000] * 7])
    assert rate.per_second() == pytest.approx(8_000)


def test_a_plant_that_writes_every_other_second_averages_out():
    clock = Clock()
    rate = ArrivalRate(clock=clock)
    produce(rate, clock, [1_000, 0] * 20, writes_per_second=1)
    assert rate.per_second() == pytest.approx(500, rel=0.1)  # a window of an odd number of seconds


def test_a_plant_that_stopped_keeps_its_last_rate():
    clock = Clock()
    rate = ArrivalRate(clock=clock)
    produce(rate, clock, [300] * 20)
    clock.now += 3_600
    assert rate.per_second() == pytest.approx(300)


def test_only_the_last_minute_counts():
    clock = Clock()
    rate = ArrivalRate(clock=clock)
    produce(rate, clock, [100] * 120 + [400] * 70)
    assert rate.per_second() == pytest.approx(400)
