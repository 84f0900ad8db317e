"""OEE arithmetic on one machine's points, and the sums that make a line's or a site's.

    availability = run time / planned time                      (the machine-state series)
    performance  = ideal cycle time x parts counted / run time  (the part counter)
    quality      = good parts / parts counted                   (good = counted - scrap)
    OEE          = availability x performance x quality = ideal cycle x good / planned time

Planned time is the shift's length. **States are sampled**: a sample's state holds from its time until
the next sample, but at most ``max_gap_ns``; time not covered so (before the first sample, after a
silence longer than the cap) is *unknown*: part of planned time, not run time, and reported as its own
downtime. **Counters** count up: each sample adds its increase over the previous sample, at its own
time; a decrease means the counter was reset, so the sample adds its whole value (counted from zero).
The first sample read has no predecessor and adds nothing (the reads start a day before the first
period, so this is a counter's first sample ever or after a day's silence).

Several machines (a line, a site) add their times and counts: availability = Σ run / Σ planned,
performance = Σ ideal time / Σ run, quality = Σ good / Σ counted. Losses: downtime per state, speed loss
(run time not explained by the parts at the ideal cycle) and scrap loss (ideal time spent on scrap).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

NS = 1_000_000_000
STATE_LABELS = {0: "IDLE", 1: "RUN", 2: "DOWN"}  # the industry templates' convention
UNKNOWN = None  # the downtime key of time without a state


@dataclass(frozen=True)
class Timeline:
    """Disjoint segments ``[starts, ends)`` in time order, each in one state."""

    starts: np.ndarray
    ends: np.ndarray
    states: np.ndarray

    def seconds_in(self, state: int, edges: np.ndarray) -> np.ndarray:
        """Seconds spent in ``state`` within each ``[edges[i], edges[i + 1])``."""
        mask = self.states == state
        before = _time_before(self.starts[mask], self.ends[mask], edges)
        return np.diff(before) / NS


def _time_before(starts: np.ndarray, ends: np.ndarray, at: np.ndarray) -> np.ndarray:
    """For each time in ``at``, the total length of the segments' parts before it."""
    if not starts.size:
        return np.zeros(at.shape)
    lengths = ends - starts
    cumulative = np.concatenate([[0], np.cumsum(lengths)])  # cumulative[k]: the first k segments
    k = np.searchsorted(starts, at, side="right")  # segments starting at or before each time
    last = np.maximum(k - 1, 0)
    partial = np.clip(at - starts[last], 0, lengths[last])
    return np.where(k > 0, cumulative[last] + partial, 0)


def timeline(timestamps: np.ndarray, values: np.ndarray, max_gap_ns: int) -> Timeline:
    """A state series' samples as segments: each state holds until the next sample, at most the cap."""
    keep = np.isfinite(values)
    ts, states = timestamps[keep], np.rint(values[keep]).astype(np.int64)
    following = np.append(ts[1:], ts[-1] + max_gap_ns) if ts.size else ts
    return Timeline(ts, np.minimum(following, ts + max_gap_ns), states)


@dataclass(frozen=True)
class Increments:
    """A counter's increases at the times of the samples that show them, as a running total."""

    timestamps: np.ndarray
    running: np.ndarray  # running[i] = sum of the first i increments

    def within(self, edges: np.ndarray) -> np.ndarray:
        """The counted increase within each ``[edges[i], edges[i + 1])``."""
        return np.diff(self.running[np.searchsorted(self.timestamps, edges, side="left")])


def increments(timestamps: np.ndarray, values: np.ndarray) -> Increments:
    keep = np.isfinite(values)
    ts, v = timestamps[keep], values[keep]
    steps = np.diff(v)
    added = np.where(steps >= 0, steps, v[1:])  # a decrease is a reset: the counter counts from zero
    return Increments(ts[1:], np.concatenate([[0.0], np.cumsum(added)]))


NO_COUNTS = Increments(np.empty(0, np.int64), np.zeros(1))


@dataclass
class Figures:
    planned_s: float = 0.0
    run_s: float = 0.0
    ideal_s: float | None = 0.0  # None when a machine counted has no ideal cycle time
    total: float = 0.0
    scrap: float = 0.0
    downtime: Counter = field(default_factory=Counter)  # state (or UNKNOWN) -> seconds
    scrap_loss_s: float = 0.0  # ideal cycle x scrap (0 without an ideal cycle)

    def add(self, other: Figures) -> None:
        self.planned_s += other.planned_s
        self.run_s += other.run_s
        self.ideal_s = None if self.ideal_s is None or other.ideal_s is None else self.ideal_s + other.ideal_s
        self.total += other.total
        self.scrap += other.scrap
        self.downtime.update(other.downtime)
        self.scrap_loss_s += other.scrap_loss_s

    @property
    def good(self) -> float:
        return max(self.total - self.scrap, 0.0)

    @property
    def availability(self) -> float | None:
        return self.run_s / self.planned_s if self.planned_s > 0 else None

    @property
    def performance(self) -> float | None:
        return self.ideal_s / self.run_s if self.ideal_s is not None and self.run_s > 0 else None

    @property
    def quality(self) -> float | None:
        return self.good / self.total if self.total > 0 else None

    @property
    def oee(self) -> float | None:
        parts = (self.availability, self.performance, self.quality)
        return None if None in parts else parts[0] * parts[1] * parts[2]

    @property
    def speed_loss_s(self) -> float:
        return self.run_s - self.ideal_s if self.ideal_s is not None else 0.0


@dataclass(frozen=True)
class MachineData:
    states: Timeline
    run_states: frozenset[int]
    total: Increments
    scrap: Increments
    ideal_cycle_s: float | None


def machine_figures(data: MachineData, edges: np.ndarray) -> list[Figures]:
    """The figures of one machine for each period ``[edges[2i], edges[2i + 1])``."""
    starts, ends = edges[0::2], edges[1::2]
    planned = (ends - starts) / NS
    per_state = {int(s): data.states.seconds_in(int(s), edges)[0::2] for s in np.unique(data.states.states)}
    totals, scraps = data.total.within(edges)[0::2], data.scrap.within(edges)[0::2]
    found = []
    for i in range(starts.size):
        spent = {s: float(seconds[i]) for s, seconds in per_state.items() if seconds[i] > 0}
        run = sum(v for s, v in spent.items() if s in data.run_states)
        downtime = Counter({s: v for s, v in spent.items() if s not in data.run_states})
        unknown = planned[i] - sum(spent.values())
        if unknown > 1e-9:
            downtime[UNKNOWN] = unknown
        cycle = data.ideal_cycle_s
        found.append(
            Figures(
                float(planned[i]), run, cycle * float(totals[i]) if cycle else None, float(totals[i]),
                float(scraps[i]), downtime, cycle * float(scraps[i]) if cycle else 0.0,
            )
        )  # fmt: skip
    return found


def label(state: int | None) -> str:
    if state is UNKNOWN:
        return "UNKNOWN"
    return STATE_LABELS.get(state, f"STATE {state}")
