"""The machine signals are deterministic, physically plausible, and faults show in them."""

from pathlib import Path

import numpy as np
import pytest

from services.tenancy.catalog import load_catalog, load_manifest
from sf.simulate.signals import (
    CNC,
    GENERIC,
    PRESS,
    FaultKind,
    MachineModel,
    Role,
    State,
    profile_for,
    role_of,
)

DEMO = Path(__file__).resolve().parents[2] / "tenants" / "demo" / "tenant.yaml"
SIX_HOURS = 6 * 3600


@pytest.fixture(scope="module")
def machine_types() -> dict[str, list[dict]]:
    """The series of each machine type the demo tenant uses (from the industry templates)."""
    catalog = load_catalog()
    manifest = load_manifest(DEMO, catalog)
    return {machine["type"]: manifest.series_of(machine) for _, _, machine in manifest.machines()}


def model(machine_types, machine_type: str, seed: int = 0, dt_s: float = 1.0) -> MachineModel:
    return MachineModel.for_type(machine_type, machine_types[machine_type], np.random.default_rng(seed), dt_s)


def column(m: MachineModel, samples: np.ndarray, role: Role) -> np.ndarray:
    index = next(i for i, name in enumerate(m.names) if role_of(name) is role)
    return samples[:, index]


@pytest.fixture(scope="module", params=["cnc", "press"])
def long_run(request, machine_types) -> tuple[str, MachineModel, np.ndarray]:
    """Six simulated hours of one machine at 1 Hz."""
    m = model(machine_types, request.param, seed=11)
    return request.param, m, m.step(SIX_HOURS)


def test_every_demo_series_has_a_role(machine_types):
    roles = {t: [role_of(s["name"], s["kind"]) for s in specs] for t, specs in machine_types.items()}
    assert sorted(roles["cnc"]) == sorted(Role) and sorted(roles["press"]) == sorted(Role)


@pytest.mark.parametrize(
    ("name", "kind", "role"),
    [
        ("oil_temp", "gauge", Role.TEMP),
        ("bearing_vibration_rms", "gauge", Role.VIBRATION),
        ("drive_amps", "gauge", Role.CURRENT),
        ("air_pressure", "gauge", Role.PRESSURE),
        ("clamp_pressure", "gauge", Role.PRESSURE),
        ("machine_status", "state", Role.STATE),
        ("good_count", "counter", Role.PARTS_TOTAL),
        ("rejects", "counter", Role.PARTS_SCRAP),
    ],
)
def test_similar_names_on_a_new_machine_type_map_to_roles(name, kind, role):
    assert role_of(name, kind) is role


def test_an_unrecognised_series_is_refused_with_its_name():
    with pytest.raises(ValueError, match="humidity"):
        MachineModel([{"name": "humidity", "kind": "gauge", "decimals": 1}], CNC, np.random.default_rng(0))


def test_profiles_by_type():
    assert profile_for("cnc") is CNC and profile_for("press") is PRESS and profile_for("oven") is GENERIC


def test_same_seed_same_samples_different_seed_different(machine_types):
    first, again, other = (model(machine_types, "cnc", seed).step(3600) for seed in (5, 5, 6))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_samples_do_not_depend_on_how_steps_are_chunked(machine_types):
    whole = model(machine_types, "press", seed=3).step(900)
    stepped = model(machine_types, "press", seed=3)
    pieces = np.concatenate([stepped.step(1) for _ in range(300)] + [stepped.step(600)])
    np.testing.assert_array_equal(whole, pieces)


def test_states_are_run_idle_down_and_mostly_run(long_run):
    _, m, samples = long_run
    states = column(m, samples, Role.STATE)
    assert set(np.unique(states)) <= {State.IDLE, State.RUN, State.DOWN}
    assert {State.IDLE, State.RUN} <= set(np.unique(states))
    assert 0.6 < np.mean(states == State.RUN) < 0.97


def test_dwell_times_are_realistic(long_run):
    _, m, samples = long_run
    states = column(m, samples, Role.STATE)
    edges = np.flatnonzero(np.diff(states)) + 1
    spells = np.split(states, edges)[1:-1]  # whole spells only
    runs = [len(s) for s in spells if s[0] == State.RUN]
    idles = [len(s) for s in spells if s[0] == State.IDLE]
    assert 120 < np.mean(runs) < 900  # minutes
    assert 10 < np.mean(idles) < 120  # tens of seconds
    assert all(60 <= len(s) <= 151 for s in spells if s[0] == State.DOWN)


def test_counters_never_decrease_and_only_count_while_running(long_run):
    _, m, samples = long_run
    total, scrap = column(m, samples, Role.PARTS_TOTAL), column(m, samples, Role.PARTS_SCRAP)
    states = column(m, samples, Role.STATE)
    assert np.all(np.diff(total) >= 0) and np.all(np.diff(scrap) >= 0)
    assert np.all(states[1:][np.diff(total) > 0] == State.RUN)
    assert np.all(np.diff(total)[np.diff(scrap) > 0] > 0)  # scrap only with a finished part
    assert 0.003 < scrap[-1] / total[-1] < 0.06


def test_parts_come_at_the_ideal_cycle_time(long_run):
    machine_type, m, samples = long_run
    running_s = np.sum(column(m, samples, Role.STATE) == State.RUN)
    cycle_s = running_s / column(m, samples, Role.PARTS_TOTAL)[-1]
    assert cycle_s == pytest.approx(profile_for(machine_type).cycle_s, rel=0.1)


def test_values_are_rounded_to_the_series_decimals(machine_types, long_run):
    machine_type, _, samples = long_run
    for i, spec in enumerate(machine_types[machine_type]):
        values = samples[:, i]
        np.testing.assert_array_equal(np.round(values, spec["decimals"]), values, err_msg=spec["name"])
        assert np.all(np.isfinite(values))


def test_temperatures_are_physically_plausible(long_run):
    machine_type, m, samples = long_run
    temps = column(m, samples, Role.TEMP)
    ambient = profile_for(machine_type).ambient_c
    assert temps.min() > ambient - 6 and temps.max() < 150
    assert np.median(temps[-3600:]) > ambient + 8  # warmed up after hours of mostly running
    assert abs(temps[0] - ambient) < 1  # starts cold


def test_gauges_are_never_negative_and_quiet_when_not_running(long_run):
    _, m, samples = long_run
    states = column(m, samples, Role.STATE)
    for role in (Role.VIBRATION, Role.CURRENT, Role.PRESSURE):
        values = column(m, samples, role)
        assert values.min() >= 0
        assert np.median(values[states == State.DOWN]) < 0.2 * np.median(values[states == State.RUN])


def test_machines_cool_towards_ambient_when_stopped(long_run):
    _, m, samples = long_run
    temps, running = column(m, samples, Role.TEMP), column(m, samples, Role.STATE) == State.RUN
    edges = np.flatnonzero(np.diff(running)) + 1
    stops = [s for s in np.split(np.arange(len(temps)), edges) if not running[s[0]] and len(s) >= 60]
    cooling = [temps[s[-5:]].mean() - temps[s[:5]].mean() for s in stops if s[0] > 3600]
    assert len(cooling) > 5 and np.mean(cooling) < -0.3


def test_a_bearing_fault_raises_vibration_and_temperature(machine_types):
    healthy, faulty = model(machine_types, "cnc", seed=4), model(machine_types, "cnc", seed=4)
    healthy.step(1800)
    faulty.step(1800)
    faulty.inject(FaultKind.BEARING, duration_s=1800)
    base, worn = healthy.step(1799), faulty.step(1799)
    running = (column(healthy, base, Role.STATE) == State.RUN) & (
        column(faulty, worn, Role.STATE) == State.RUN
    )
    late = np.arange(len(base)) >= 900  # the second half, when the damage is well along
    vibration_ratio = column(faulty, worn, Role.VIBRATION)[running & late].mean() / (
        column(healthy, base, Role.VIBRATION)[running & late].mean()
    )
    assert vibration_ratio > 2
    assert column(faulty, worn, Role.TEMP)[-300:].mean() > column(healthy, base, Role.TEMP)[-300:].mean() + 3


def test_a_bearing_fault_ends_in_a_repair_stop(machine_types):
    m = model(machine_types, "press", seed=2)
    m.inject(FaultKind.BEARING, duration_s=600)
    samples = m.step(601)
    assert column(m, samples, Role.STATE)[-1] == State.DOWN and m.fault is None


def test_a_pressure_drop_lowers_pressure_while_running(machine_types):
    healthy, faulty = model(machine_types, "press", seed=8), model(machine_types, "press", seed=8)
    faulty.inject(FaultKind.PRESSURE_DROP, duration_s=900)
    base, dropped = healthy.step(900), faulty.step(900)
    running = (column(healthy, base, Role.STATE) == State.RUN)[120:]
    ratio = column(faulty, dropped, Role.PRESSURE)[120:][running].mean() / (
        column(healthy, base, Role.PRESSURE)[120:][running].mean()
    )
    assert 0.4 < ratio < 0.7


def test_faults_happen_on_their_own_now_and_then(machine_types):
    m = model(machine_types, "cnc", seed=0)
    kinds = set()
    for _ in range(12 * 60):  # twelve hours, a minute at a time
        m.step(60)
        if m.fault is not None:
            kinds.add(m.fault.kind)
    assert kinds == {FaultKind.BEARING, FaultKind.PRESSURE_DROP}


def test_coarser_sampling_keeps_the_physics(machine_types):
    m = model(machine_types, "press", seed=9, dt_s=10.0)
    samples = m.step(SIX_HOURS // 10)
    running_s = 10.0 * np.sum(column(m, samples, Role.STATE) == State.RUN)
    assert running_s / column(m, samples, Role.PARTS_TOTAL)[-1] == pytest.approx(PRESS.cycle_s, rel=0.15)
    assert np.median(column(m, samples, Role.TEMP)[-360:]) > PRESS.ambient_c + 8
