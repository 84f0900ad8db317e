"""What one machine would report, second by second: a small stochastic plant per machine.

A machine cycles RUN → IDLE → RUN … with now and then a breakdown (DOWN). While
it runs, temperature warms up first-order towards a load-dependent setpoint,
vibration and current follow the load, pressure holds steady, and the part
counters tick at the machine type's cycle time. Rarely a fault develops (a
failing bearing, a pressure drop) or a sensor spikes, so that an anomaly
detector has something real to find.

The model is pure and deterministic given its numpy Generator: every step draws
the same number of uniforms, so a seed gives the same samples however the steps
are chunked (one per tick live, hundreds at a time for a backfill), and a model
with an injected fault sees the very same noise as one without.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import Any, NamedTuple

import numpy as np


class State(IntEnum):
    """The value of a machine's `state` series."""

    IDLE = 0
    RUN = 1
    DOWN = 2


class Role(IntEnum):
    """What a series measures; the value is its column in a model's raw step output."""

    TEMP = 0
    VIBRATION = 1
    CURRENT = 2
    PRESSURE = 3
    STATE = 4
    PARTS_TOTAL = 5
    PARTS_SCRAP = 6


class FaultKind(Enum):
    BEARING = "bearing"  # vibration and heat creep up; ends in a repair stop
    PRESSURE_DROP = "pressure_drop"  # coolant or hydraulic pressure sags for a few minutes


_GAUGE_WORDS = (
    ("temp", Role.TEMP),
    ("vib", Role.VIBRATION),
    ("pressure", Role.PRESSURE),
    ("current", Role.CURRENT),
)
_AMPERE_WORDS = frozenset({"amp", "amps", "ampere", "amperes"})


def role_of(name: str, kind: str = "gauge") -> Role:
    """The role of a series from its name (and kind), so similar names on a new machine type work."""
    lowered = name.lower()
    if kind == "state" or "state" in lowered or "status" in lowered:
        return Role.STATE
    if "scrap" in lowered or "reject" in lowered:
        return Role.PARTS_SCRAP
    if kind == "counter" or "parts" in lowered or "count" in lowered:
        return Role.PARTS_TOTAL
    for word, role in _GAUGE_WORDS:
        if word in lowered:
            return role
    if _AMPERE_WORDS & set(lowered.split("_")):
        return Role.CURRENT
    raise ValueError(
        f"series {name!r}: cannot tell what it measures (temp, vibration, current, pressure, ...)"
    )


@dataclass(frozen=True)
class Profile:
    """How one machine type behaves: typical shop-floor magnitudes, not a datasheet."""

    cycle_s: float  # ideal cycle time of one part
    temp_rise_c: float  # steady rise over ambient when running at full load
    warm_tau_s: float  # thermal time constant while running
    cool_tau_s: float  # ... while idle or down
    vib_run: float  # RMS vibration at full load, mm/s
    vib_idle: float
    current_idle_a: float
    current_run_a: float  # at full load
    pressure_run: float
    pressure_idle: float
    pressure_noise: float
    cycle_ripple: float = 0.1  # how much vibration and current pulse with each stroke
    temp_noise_c: float = 0.12
    ambient_c: float = 22.0
    scrap_rate: float = 0.02
    run_mean_s: float = 360.0
    idle_mean_s: float = 40.0
    down_s: tuple[float, float] = (60.0, 150.0)
    p_down: float = 0.04  # chance that a run spell ends in a breakdown
    bearing_per_h: float = 0.25  # fault onsets per running hour
    pressure_drop_per_h: float = 0.3
    spike_per_h: float = 1.0  # sensor spikes per hour, any state
    burst_per_h: float = 6.0  # short vibration bursts per running hour


CNC = Profile(
    cycle_s=45.0,
    temp_rise_c=16.0,
    warm_tau_s=900.0,
    cool_tau_s=1500.0,
    vib_run=1.6,
    vib_idle=0.04,
    current_idle_a=0.4,
    current_run_a=18.0,
    pressure_run=6.0,
    pressure_idle=0.2,
    pressure_noise=0.05,
)
PRESS = Profile(
    cycle_s=6.0,
    temp_rise_c=24.0,
    warm_tau_s=1800.0,
    cool_tau_s=3600.0,
    vib_run=4.5,
    vib_idle=0.08,
    current_idle_a=0.8,
    current_run_a=40.0,
    pressure_run=160.0,
    pressure_idle=15.0,
    pressure_noise=1.5,
    cycle_ripple=0.35,
    temp_noise_c=0.08,
    scrap_rate=0.015,
)
GENERIC = Profile(
    cycle_s=30.0,
    temp_rise_c=18.0,
    warm_tau_s=1200.0,
    cool_tau_s=2000.0,
    vib_run=2.5,
    vib_idle=0.05,
    current_idle_a=0.5,
    current_run_a=20.0,
    pressure_run=10.0,
    pressure_idle=1.0,
    pressure_noise=0.1,
)


def profile_for(machine_type: str) -> Profile:
    """The profile of a known machine type; an unknown type gets middle-of-the-road numbers."""
    lowered = machine_type.lower()
    if "cnc" in lowered or "mill" in lowered or "lathe" in lowered:
        return CNC
    if "press" in lowered:
        return PRESS
    return GENERIC


@dataclass
class Fault:
    kind: FaultKind
    duration_s: float
    elapsed_s: float = 0.0

    @property
    def severity(self) -> float:
        """0 at onset, 1 at full strength (a bearing worsens over its whole life, a drop within a minute)."""
        ramp_s = self.duration_s if self.kind is FaultKind.BEARING else 60.0
        return min(self.elapsed_s / ramp_s, 1.0)


class _Draws(NamedTuple):
    """One step's randomness: uniforms in [0, 1) first, then standard normals."""

    dwell: float
    next_state: float
    load: float
    scrap: float
    burst: float
    burst_len: float
    burst_gain: float
    fault: float
    fault_len: float
    spike: float
    spike_role: float
    spike_gain: float
    z_temp: float
    z_drift: float
    z_vib: float
    z_current: float
    z_pressure: float
    z_cycle: float


_N_PLAIN = 12  # uniforms used as such
_N_NORMAL = 6  # normals, two from each pair of uniforms (Box-Muller)
_SPIKE_ROLES = (Role.TEMP, Role.VIBRATION, Role.CURRENT, Role.PRESSURE)
_DRIFT_TAU_S = 3600.0
_DRIFT_SD_C = 1.0
_PRESSURE_TAU_S = 4.0


def _normals(uniforms: np.ndarray) -> np.ndarray:
    """Standard normals from uniform pairs, so the draw count per step is fixed."""
    radius = np.sqrt(-2.0 * np.log1p(-uniforms[:, 0::2]))
    angle = 2.0 * np.pi * uniforms[:, 1::2]
    return np.concatenate([radius * np.cos(angle), radius * np.sin(angle)], axis=1)


class MachineModel:
    """The signals of one machine, sampled every ``dt_s`` seconds, one column per series."""

    def __init__(
        self,
        series: Sequence[Mapping[str, Any]],
        profile: Profile,
        rng: np.random.Generator,
        dt_s: float = 1.0,
    ) -> None:
        if dt_s <= 0:
            raise ValueError(f"dt_s must be positive, not {dt_s}")
        self.names = tuple(s["name"] for s in series)
        self._columns = [int(role_of(s["name"], s.get("kind", "gauge"))) for s in series]
        self._decimals = [int(s.get("decimals", 3)) for s in series]
        self._p, self._rng, self._dt = profile, rng, dt_s
        self._warm = 1.0 - math.exp(-dt_s / profile.warm_tau_s)
        self._cool = 1.0 - math.exp(-dt_s / profile.cool_tau_s)
        self._settle = 1.0 - math.exp(-dt_s / _PRESSURE_TAU_S)
        self.state, self._remaining_s, self._load = State.IDLE, 0.0, 0.0
        self._temp, self._drift, self._pressure = profile.ambient_c, 0.0, profile.pressure_idle
        self._progress, self._cycle_s, self.parts_total, self.parts_scrap = 0.0, profile.cycle_s, 0, 0
        self._burst_s, self._burst_gain = 0.0, 1.0
        self.fault: Fault | None = None

    @classmethod
    def for_type(
        cls,
        machine_type: str,
        series: Sequence[Mapping[str, Any]],
        rng: np.random.Generator,
        dt_s: float = 1.0,
    ) -> MachineModel:
        return cls(series, profile_for(machine_type), rng, dt_s)

    def step(self, n: int) -> np.ndarray:
        """The next ``n`` samples as an (n, series) array, each column rounded to its decimals."""
        uniforms = self._rng.random((n, _N_PLAIN + _N_NORMAL))
        normals = _normals(uniforms[:, _N_PLAIN:])
        rows = [
            self._tick(_Draws(*plain, *gauss))
            for plain, gauss in zip(uniforms[:, :_N_PLAIN].tolist(), normals.tolist(), strict=True)
        ]
        raw = np.array(rows, dtype=np.float64).reshape(n, len(Role))[:, self._columns]
        for column, decimals in enumerate(self._decimals):
            raw[:, column] = np.round(raw[:, column], decimals)
        return raw

    def inject(self, kind: FaultKind, duration_s: float) -> None:
        """Start a fault now, replacing any running one (for demos and tests)."""
        self.fault = Fault(kind, duration_s)

    def _tick(self, d: _Draws) -> list[float]:
        self._advance_state(d)
        self._advance_fault(d)
        values = [
            self._temperature(d),
            self._vibration(d),
            self._current(d),
            self._pressure_reading(d),
            float(self.state),
            0.0,
            0.0,
        ]
        self._advance_parts(d)
        values[Role.PARTS_TOTAL], values[Role.PARTS_SCRAP] = float(self.parts_total), float(self.parts_scrap)
        if d.spike < self._dt * self._p.spike_per_h / 3600.0:
            self._spike(values, d)
        return values

    def _advance_state(self, d: _Draws) -> None:
        self._remaining_s -= self._dt
        if self._remaining_s > 0:
            return
        if self.state is State.RUN:
            self._enter(State.DOWN if d.next_state < self._p.p_down else State.IDLE, d)
        elif self.state is State.IDLE:
            self._enter(State.DOWN if d.next_state < self._p.p_down / 4 else State.RUN, d)
        else:
            self._enter(State.IDLE, d)

    def _enter(self, state: State, d: _Draws) -> None:
        """Switch state and draw how long it lasts: runs of minutes, idles of tens of seconds."""
        p = self._p
        self.state = state
        if state is State.RUN:
            self._remaining_s = p.run_mean_s * (0.25 - 0.75 * math.log1p(-d.dwell))
            self._load = 0.6 + 0.4 * d.load
        elif state is State.IDLE:
            self._remaining_s = p.idle_mean_s * (0.25 - 0.75 * math.log1p(-d.dwell))
        else:
            self._remaining_s = p.down_s[0] + (p.down_s[1] - p.down_s[0]) * d.dwell

    def _advance_fault(self, d: _Draws) -> None:
        if self.fault is not None:
            self.fault.elapsed_s += self._dt
            if self.fault.elapsed_s >= self.fault.duration_s:
                ended, self.fault = self.fault.kind, None
                if ended is FaultKind.BEARING:  # the bearing is replaced: a repair stop
                    self._enter(State.DOWN, d)
            return
        if self.state is not State.RUN:
            return
        bearing = self._dt * self._p.bearing_per_h / 3600.0
        drop = self._dt * self._p.pressure_drop_per_h / 3600.0
        if d.fault < bearing:
            self.fault = Fault(FaultKind.BEARING, 900.0 + 1500.0 * d.fault_len)
        elif d.fault < bearing + drop:
            self.fault = Fault(FaultKind.PRESSURE_DROP, 180.0 + 420.0 * d.fault_len)

    def _severity(self, kind: FaultKind) -> float:
        return self.fault.severity if self.fault is not None and self.fault.kind is kind else 0.0

    def _temperature(self, d: _Draws) -> float:
        """First-order lag towards the setpoint (warm while running, ambient otherwise), slow drift."""
        p = self._p
        self._drift += -self._drift * self._dt / _DRIFT_TAU_S
        self._drift += _DRIFT_SD_C * math.sqrt(2.0 * self._dt / _DRIFT_TAU_S) * d.z_drift
        target = p.ambient_c + self._drift
        if self.state is State.RUN:
            target += p.temp_rise_c * (0.5 + 0.5 * self._load)
            target += 12.0 * self._severity(FaultKind.BEARING) + 5.0 * self._severity(FaultKind.PRESSURE_DROP)
        rate = self._warm if target > self._temp else self._cool
        self._temp += (target - self._temp) * rate
        return self._temp + p.temp_noise_c * d.z_temp

    def _ripple(self) -> float:
        return 1.0 + self._p.cycle_ripple * math.sin(2.0 * math.pi * self._progress)

    def _vibration(self, d: _Draws) -> float:
        """Log-normal RMS around the load's level; bursts now and then; a bad bearing multiplies it."""
        p = self._p
        if self.state is not State.RUN:
            floor = p.vib_idle if self.state is State.IDLE else 0.3 * p.vib_idle
            return floor * math.exp(0.25 * d.z_vib)
        self._burst_s -= self._dt
        if self._burst_s <= 0 and d.burst < self._dt * p.burst_per_h / 3600.0:
            self._burst_s, self._burst_gain = 2.0 + 8.0 * d.burst_len, 2.0 + 2.0 * d.burst_gain
        gain = self._burst_gain if self._burst_s > 0 else 1.0
        level = p.vib_run * (0.6 + 0.4 * self._load) * (1.0 + 4.0 * self._severity(FaultKind.BEARING))
        return level * gain * self._ripple() * math.exp(0.1 * d.z_vib)

    def _current(self, d: _Draws) -> float:
        """Tracks the load (plus friction from a bad bearing); standby draw when idle, ~0 when down."""
        p = self._p
        if self.state is State.DOWN:
            return 0.02 * p.current_idle_a * abs(d.z_current)
        if self.state is State.IDLE:
            return max(p.current_idle_a * (1.0 + 0.05 * d.z_current), 0.0)
        friction = 1.0 + 0.15 * self._severity(FaultKind.BEARING)
        level = p.current_idle_a + (p.current_run_a - p.current_idle_a) * self._load * friction
        return max(level * self._ripple() * (1.0 + 0.02 * d.z_current), 0.0)

    def _pressure_reading(self, d: _Draws) -> float:
        """Settles within seconds to the state's level; a pressure-drop fault halves it."""
        p = self._p
        target = (p.pressure_idle, p.pressure_run, 0.0)[self.state]  # by State value
        target *= 1.0 - 0.5 * self._severity(FaultKind.PRESSURE_DROP)
        self._pressure += (target - self._pressure) * self._settle
        noise = p.pressure_noise if self.state is State.RUN else 0.2 * p.pressure_noise
        return max(self._pressure + noise * d.z_pressure, 0.0)

    def _advance_parts(self, d: _Draws) -> None:
        """Parts finish at the (varying) cycle time while running; a few are scrap, more during faults."""
        if self.state is not State.RUN:
            return
        self._progress += self._dt / self._cycle_s
        made = int(self._progress)
        if not made:
            return
        self._progress -= made
        self._cycle_s = self._p.cycle_s * min(max(1.0 + 0.05 * d.z_cycle, 0.8), 1.3)
        faulty = 3.0 * self._severity(FaultKind.BEARING) + 2.0 * self._severity(FaultKind.PRESSURE_DROP)
        rate = min(self._p.scrap_rate * (1.0 + faulty), 1.0)
        self.parts_total += made
        if d.scrap < 1.0 - (1.0 - rate) ** made:
            self.parts_scrap += 1

    def _spike(self, values: list[float], d: _Draws) -> None:
        """A one-sample sensor glitch on one gauge (EMI, a loose connector)."""
        p = self._p
        role = _SPIKE_ROLES[min(int(d.spike_role * len(_SPIKE_ROLES)), len(_SPIKE_ROLES) - 1)]
        scale = {
            Role.TEMP: p.temp_rise_c,
            Role.VIBRATION: 2.0 * p.vib_run,
            Role.CURRENT: 0.5 * p.current_run_a,
            Role.PRESSURE: 0.3 * p.pressure_run,
        }[role]
        values[role] += (1.0 + 1.5 * d.spike_gain) * scale
