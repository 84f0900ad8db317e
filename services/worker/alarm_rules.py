"""The alarm conditions the worker evaluates, as pure functions over points (docs/ANALYTICS.md, "Alarms").

- threshold, with hysteresis: `above` raises when a value goes over the threshold and clears when it
  falls to threshold - hysteresis or below; `below` mirrors it; `equals` (states) raises while the value
  equals the threshold. Between the two bounds the condition keeps its state, so noise around the
  threshold does not raise and clear on every point.
- rate of change: at each point, the change per second (or minute) since the oldest point within the
  window before it, (v - v₀) / (t - t₀) x unit, against the threshold with the same hysteresis rule;
  a point with no earlier point in its window leaves the state as it is.
- no data: the device sent no batch for longer than the rule's silence (checked on a timer).

Each function takes the condition's state before the points (`active`) and returns the changes in time
order, each with its time and the value that decided it. NaN values decide nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RuleView:
    """The part of a rule the evaluation needs."""

    kind: str
    condition: str
    threshold: float
    hysteresis: float = 0.0
    rate_unit_ns: int = 1_000_000_000
    window_ns: int = 0


@dataclass(frozen=True)
class Change:
    time_ns: int
    active: bool
    value: float


def next_state(rule: RuleView, active: bool, value: float) -> bool:
    """The condition after one value, given its state before."""
    if math.isnan(value):
        return active
    if rule.condition == "equals":
        return value == rule.threshold
    if rule.condition == "above":
        return value > rule.threshold if not active else value > rule.threshold - rule.hysteresis
    return value < rule.threshold if not active else value < rule.threshold + rule.hysteresis


def threshold_changes(
    rule: RuleView, active: bool, timestamps: Sequence[int], values: Sequence[float]
) -> list[Change]:
    changes = []
    for t, v in zip(timestamps, values, strict=True):
        now = next_state(rule, active, float(v))
        if now != active:
            changes.append(Change(int(t), now, float(v)))
            active = now
    return changes


def rates(rule: RuleView, timestamps: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The rate at each point over the window before it (NaN where there is no earlier point in it)."""
    first = np.searchsorted(timestamps, timestamps - rule.window_ns, side="left")
    span = timestamps - timestamps[first]
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = (values - values[first]) / span * rule.rate_unit_ns
    return np.where(span > 0, rate, np.nan)


def rate_changes(
    rule: RuleView, active: bool, timestamps: np.ndarray, values: np.ndarray, after_ns: int
) -> list[Change]:
    """Changes at the points after ``after_ns``; earlier points serve only as the window's history."""
    timestamps = np.asarray(timestamps, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    if timestamps.size == 0:
        return []
    rate = rates(rule, timestamps, values)
    new = timestamps > after_ns
    return threshold_changes(rule, active, timestamps[new].tolist(), rate[new].tolist())


def silence_change(rule: RuleView, active: bool, last_ns: int, now_ns: int) -> Change | None:
    """No data: raised once the device has been silent longer than the window; cleared when it sends."""
    silent_ns = now_ns - last_ns
    now = silent_ns > rule.window_ns
    if now == active:
        return None
    return Change(now_ns if now else last_ns, now, silent_ns / 1e9)
