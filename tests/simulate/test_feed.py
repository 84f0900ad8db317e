"""Samples sit on one time grid: history and live ticks join up, and every series gets each tick."""

import time

import numpy as np
import pytest

from sf.simulate.feed import MachineFeed, TickClock
from sf.simulate.signals import CNC, MachineModel

SERIES = [
    {"name": "spindle_temp", "kind": "gauge", "decimals": 1},
    {"name": "state", "kind": "state", "decimals": 0},
    {"name": "parts_total", "kind": "counter", "decimals": 0},
]


def test_history_ends_where_the_live_ticks_begin():
    before_ns = time.time_ns()
    clock = TickClock.starting_now(rate_hz=2.0, history_s=60.0)
    live_ns = clock.origin_ns + clock.live_tick * clock.dt_ns
    assert clock.dt_ns == 500_000_000 and clock.live_tick == 120
    assert live_ns % clock.dt_ns == 0 and before_ns <= live_ns < before_ns + clock.dt_ns + 10**8
    assert clock.due(clock.live_at - 0.01) == 120 and clock.due(clock.live_at) == 121
    assert clock.due_at(130) == pytest.approx(clock.live_at + 5.0)


def test_a_clock_needs_a_positive_rate():
    with pytest.raises(ValueError):
        TickClock.starting_now(rate_hz=0.0)


def test_feed_stamps_consecutive_ticks_on_every_series():
    clock = TickClock(origin_ns=1_700_000_000_000_000_000, dt_ns=10**9, live_tick=0, live_at=0.0)
    feed = MachineFeed(MachineModel(SERIES, CNC, np.random.default_rng(0)), ["a", "b", "c"], clock)
    first, second = feed.take(300), feed.take(2)
    assert [s.series_id for s in first] == ["a", "b", "c"]
    stamps = np.array(list(first[0].timestamps_ns) + list(second[0].timestamps_ns))
    assert np.all(np.diff(stamps) == 10**9) and stamps[0] == clock.origin_ns
    assert all(len(s.timestamps_ns) == len(s.values) == 300 for s in first)
    assert list(first[1].timestamps_ns) == list(first[0].timestamps_ns)
    assert feed.next_tick == 302


def test_feed_needs_an_id_per_series():
    clock = TickClock(origin_ns=0, dt_ns=10**9, live_tick=0, live_at=0.0)
    with pytest.raises(ValueError, match="3 series"):
        MachineFeed(MachineModel(SERIES, CNC, np.random.default_rng(0)), ["a"], clock)
