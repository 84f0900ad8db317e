"""The series the codec figures are measured on: SKAB's sensors, and synthetic states and counters.

Every series is (int64 nanosecond timestamps, float64 values), compressed as
one block. SKAB is real data (a water-pump testbed sampled at 1 Hz, 3-7
decimals). The synthetic corpora are generated from fixed seeds, so every run
measures the same points: machine states (0 idle, 1 running, 2 down) held for
minutes, and counters (parts made, energy used) that only grow, but for a reset
now and then. Both are sampled at 1 Hz with now and then a missed sample, as a
device on a shop-floor network sends them.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

Series = tuple[np.ndarray, np.ndarray]
SYNTHETIC_SERIES = 60
SYNTHETIC_POINTS = 3600  # an hour at 1 Hz
START_NS = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z


def skab_dir() -> Path:
    """``$SF_SKAB_DIR`` (or ``$SKAB_DIR``), else ``shared/data/skab`` beside the repository."""
    default = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "skab"
    return Path(os.environ.get("SF_SKAB_DIR") or os.environ.get("SKAB_DIR") or default)


def load_series(path: Path) -> dict[str, Series]:
    """Every numeric column of a SKAB CSV as (timestamps in ns, values)."""
    with path.open(newline="") as f:
        header, *rows = list(csv.reader(f, delimiter=";"))
    columns = list(zip(*rows, strict=True))
    timestamps = np.array(columns[0], dtype="datetime64[ns]").view(np.int64)
    series = {}
    for name, cells in zip(header[1:], columns[1:], strict=True):
        try:
            series[name] = (timestamps, np.array(cells, dtype=np.float64))
        except ValueError:
            continue  # not a numeric column
    return series


def skab() -> list[Series]:
    """Every numeric column of every SKAB CSV, one series each."""
    corpus = [s for path in sorted(skab_dir().rglob("*.csv")) for s in load_series(path).values()]
    if not corpus:
        raise FileNotFoundError(f"no SKAB CSV files under {skab_dir()}")
    return corpus


def states() -> list[Series]:
    return _synthetic(1, _state_values)


def counters() -> list[Series]:
    return _synthetic(2, lambda gen, n, i: (_parts if i % 2 else _energy)(gen, n))


CORPORA: dict[str, Callable[[], list[Series]]] = {"skab": skab, "states": states, "counters": counters}


def _synthetic(seed: int, values: Callable[[np.random.Generator, int, int], np.ndarray]) -> list[Series]:
    gen = np.random.default_rng(seed)
    return [
        (_clock(gen, SYNTHETIC_POINTS), values(gen, SYNTHETIC_POINTS, i)) for i in range(SYNTHETIC_SERIES)
    ]


def _clock(gen: np.random.Generator, n: int) -> np.ndarray:
    """1 Hz from a random start in the first day; one sample in 500 is lost."""
    start = START_NS + int(gen.integers(0, 86_400)) * 10**9
    steps = 1 + (gen.random(n) < 0.002)
    return start + 10**9 * (np.cumsum(steps) - steps[0])


def _dwells(gen: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """States and how many seconds each lasts: runs of minutes, idles of tens of seconds, rare stops."""
    state, kinds, lengths, total = 0, [], [], 0
    while total < n:
        if state == 1:
            length = 360 * (0.25 - 0.75 * math.log1p(-gen.random()))
            following = 2 if gen.random() < 0.04 else 0
        elif state == 0:
            length = 40 * (0.25 - 0.75 * math.log1p(-gen.random()))
            following = 2 if gen.random() < 0.01 else 1
        else:
            length, following = 60 + 90 * gen.random(), 0
        kinds.append(state)
        lengths.append(max(1, round(length)))
        total += lengths[-1]
        state = following
    return np.array(kinds), np.array(lengths)


def _state_values(gen: np.random.Generator, n: int, _: int) -> np.ndarray:
    kinds, lengths = _dwells(gen, n)
    return np.repeat(kinds, lengths)[:n].astype(np.float64)


def _parts(gen: np.random.Generator, n: int) -> np.ndarray:
    """Parts made: +1 per cycle (about 45 s) while running; reset at a shift change."""
    running = _state_values(gen, n, 0) == 1
    cycle = 40 + 10 * gen.random()
    progress = np.cumsum(running / (cycle * (1 + 0.05 * gen.standard_normal(n))))
    count = np.floor(progress) + int(gen.integers(0, 5000))
    return _reset(gen, count)


def _energy(gen: np.random.Generator, n: int) -> np.ndarray:
    """Energy in kWh to 3 decimals: 4-20 kW while running, 0.5 kW idle; reset when the meter is."""
    running = _state_values(gen, n, 0) == 1
    power_kw = np.where(running, 4 + 16 * gen.random(), 0.5) * (1 + 0.05 * gen.standard_normal(n))
    energy = np.cumsum(power_kw / 3600) + 1000 * gen.random()
    return _reset(gen, np.round(energy, 3))


def _reset(gen: np.random.Generator, total: np.ndarray) -> np.ndarray:
    """One series in three is reset to zero once, somewhere in the hour."""
    if gen.random() < 1 / 3:
        at = int(gen.integers(1, len(total)))
        total = total.copy()
        total[at:] = np.round(total[at:] - total[at], 3)
    return total
