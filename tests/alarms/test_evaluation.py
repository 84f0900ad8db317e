"""The worker's alarm conditions on hand-made sequences: threshold with hysteresis, rate of change per
second and per minute over a window, equals for states, no data; NaN decides nothing."""

from __future__ import annotations

import math

import numpy as np

from services.worker.alarm_notify import Backoff, signature
from services.worker.alarm_rules import Change, RuleView, rate_changes, silence_change, threshold_changes

S = 1_000_000_000


def test_above_raises_over_the_threshold_and_clears_only_below_threshold_minus_hysteresis():
    rule = RuleView("threshold", "above", threshold=80.0, hysteresis=5.0)
    values = [70, 79.9, 80.0, 80.1, 78, 76, 75.5, 75.0, 79, 81, 74.9]
    changes = threshold_changes(rule, False, list(range(len(values))), values)
    # 80.0 is not above 80; 80.1 raises; 78, 76, 75.5 stay inside the band; 75.0 (= 80 - 5) clears;
    # 79 does not raise again (not above 80); 81 raises; 74.9 clears.
    assert changes == [
        Change(3, True, 80.1),
        Change(7, False, 75.0),
        Change(9, True, 81.0),
        Change(10, False, 74.9),
    ]


def test_noise_around_the_threshold_raises_once_with_hysteresis_and_flaps_without():
    noise = [80 + (1.5 if i % 2 else -1.5) for i in range(20)]  # 78.5, 81.5, 78.5, ...
    with_band = threshold_changes(RuleView("threshold", "above", 80.0, 5.0), False, list(range(20)), noise)
    without = threshold_changes(RuleView("threshold", "above", 80.0, 0.0), False, list(range(20)), noise)
    assert with_band == [Change(1, True, 81.5)]
    assert len(without) == 19


def test_below_mirrors_above_and_the_state_carries_over_between_calls():
    rule = RuleView("threshold", "below", threshold=2.0, hysteresis=0.5)
    first = threshold_changes(rule, False, [1, 2, 3], [3.0, 1.9, 2.4])
    assert first == [Change(2, True, 1.9)]  # 2.4 < 2.5: still raised
    second = threshold_changes(rule, True, [4, 5], [2.49, 2.5])
    assert second == [Change(5, False, 2.5)]


def test_equals_for_states_and_nan_decides_nothing():
    rule = RuleView("threshold", "equals", threshold=3.0)
    changes = threshold_changes(rule, False, [1, 2, 3, 4, 5], [1.0, 3.0, math.nan, 3.0, 2.0])
    assert changes == [Change(2, True, 3.0), Change(5, False, 2.0)]


def test_rate_of_change_per_second_over_a_window():
    # A temperature rising 1 degree/s for 5 s, then 4 degrees/s for 3 s, then flat.
    ts = np.arange(0, 12) * S
    vs = np.array([20, 21, 22, 23, 24, 25, 29, 33, 37, 37, 37, 37], dtype=float)
    rule = RuleView("rate_of_change", "above", threshold=2.0, hysteresis=0.5, window_ns=2 * S)
    changes = rate_changes(rule, False, ts, vs, after_ns=-1)
    # Rate at t over [t - 2 s, t]: t=6: (29-24)/2 = 2.5 raises; t=7..8: 4.0; t=9: (37-33)/2 = 2.0 stays
    # (above 2 - 0.5); t=10: (37-37)/2 = 0 clears.
    assert changes == [Change(6 * S, True, 2.5), Change(10 * S, False, 0.0)]


def test_rate_of_change_per_minute_uses_the_history_before_the_cursor():
    ts = np.array([0, 30, 60, 90]) * S
    vs = np.array([100.0, 100.0, 97.0, 90.0])
    rule = RuleView(
        "rate_of_change", "below", threshold=-10.0, hysteresis=1.0, rate_unit_ns=60 * S, window_ns=60 * S
    )
    # Only the points after the cursor (t > 60 s) are judged; t=90 looks back to t=30: (90-100)/60 s
    # = -10/min, not below -10; a drop to 80 at t=120 is (80-97)/60 s = -17/min: raised.
    assert rate_changes(rule, False, ts, vs, after_ns=60 * S) == []
    ts2, vs2 = np.append(ts, 120 * S), np.append(vs, 80.0)
    assert rate_changes(rule, False, ts2, vs2, after_ns=90 * S) == [Change(120 * S, True, -17.0)]


def test_a_lone_point_in_its_window_leaves_the_rate_state_alone():
    rule = RuleView("rate_of_change", "above", threshold=1.0, window_ns=5 * S)
    assert rate_changes(rule, True, np.array([100 * S]), np.array([5.0]), after_ns=0) == []


def test_no_data_raises_after_the_silence_and_clears_when_the_device_sends():
    rule = RuleView("no_data", "", 0.0, window_ns=60 * S)
    assert silence_change(rule, False, last_ns=0, now_ns=60 * S) is None  # exactly the window: not yet
    assert silence_change(rule, False, last_ns=0, now_ns=61 * S) == Change(61 * S, True, 61.0)
    assert silence_change(rule, True, last_ns=70 * S, now_ns=75 * S) == Change(70 * S, False, 5.0)


def test_backoff_doubles_and_the_signature_covers_timestamp_and_body():
    backoff = Backoff(base_s=1.0, max_attempts=6)
    assert [backoff.delay(a) for a in range(1, 6)] == [1, 2, 4, 8, 16]
    # The documented example (docs/ANALYTICS.md, "Alarms"): secret, timestamp, body → header value.
    assert signature("whsec_test", 1700000000, b'{"a":1}') == (
        "v1=" + __import__("hmac").new(b"whsec_test", b'1700000000.{"a":1}', "sha256").hexdigest()
    )
    assert signature("whsec_test", 1700000001, b'{"a":1}') != signature("whsec_test", 1700000000, b'{"a":1}')
