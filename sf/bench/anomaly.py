"""Anomaly-detection figures on the SKAB development data, beside Hotelling's T² in the same run.

``analytics.skab_dev.f1``, ``.far`` and ``.mar`` follow the SKAB leaderboard's protocol
(``services.analytics.anomaly.protocol``) over every labelled CSV under the SKAB folder;
``analytics.skab_dev.anomaly_free_far`` is the share of alarms on the unlabelled anomaly-free file(s),
fitted on their first 400 rows the same way (not a leaderboard figure: a check that the settings hold
on hours of normal running). ``analytics.score_points_per_s`` is how many sensor values (a row of eight
sensors is eight points) one core scores per second, streaming, once fitted, best of ``REPEATS``. Where
the SKAB folder is missing the figures are not measured, and a line on stderr says so.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from services.analytics.anomaly import Scorer, detect, fit
from services.analytics.anomaly.hotelling import fit_hotelling
from services.analytics.anomaly.protocol import TRAIN_ROWS, Counts, evaluate
from services.analytics.anomaly.tables import Table, read_table
from sf.bench.codec_corpus import skab_dir
from sf.bench.figures import Figure

REPEATS = 3
Labelled = list[tuple[np.ndarray, np.ndarray]]


def skab_tables(folder: Path | None = None) -> list[Table]:
    """Every SKAB CSV under ``folder`` (default: ``skab_dir()``), in path order."""
    return [read_table(path) for path in sorted((folder or skab_dir()).rglob("*.csv"))]


def labelled(tables: list[Table]) -> Labelled:
    return [(t.values, t.labels["anomaly"]) for t in tables if "anomaly" in t.labels]


def hotelling(train: np.ndarray, test: np.ndarray) -> np.ndarray:
    return fit_hotelling(train).predict(test)


def run() -> dict[str, Figure]:
    tables = skab_tables() if skab_dir().is_dir() else []
    files = labelled(tables)
    if not files:
        print(
            f"analytics figures: no labelled SKAB CSV under {skab_dir()} (set SF_SKAB_DIR); not measured",
            file=sys.stderr,
        )
        return {}
    ours, base = evaluate(detect, files), evaluate(hotelling, files)
    free = [t.values for t in tables if "anomaly" not in t.labels]
    figures = protocol_figures(ours, base)
    if free:
        figures["analytics.skab_dev.anomaly_free_far"] = Figure(
            100 * _alarm_share(detect, free), "%", 100 * _alarm_share(hotelling, free)
        )
    figures["analytics.score_points_per_s"] = Figure(
        _points_per_s(_streaming, files), "points/s", _points_per_s(_hotelling_scoring, files), True
    )
    return figures


def protocol_figures(ours: Counts, base: Counts) -> dict[str, Figure]:
    return {
        "analytics.skab_dev.f1": Figure(ours.f1, "F1", base.f1, True),
        "analytics.skab_dev.far": Figure(100 * ours.far, "%", 100 * base.far),
        "analytics.skab_dev.mar": Figure(100 * ours.mar, "%", 100 * base.mar),
    }


def _alarm_share(detector: Callable[[np.ndarray, np.ndarray], np.ndarray], free: list[np.ndarray]) -> float:
    alarms = [detector(v[:TRAIN_ROWS], v[TRAIN_ROWS:]) for v in free]
    return float(np.concatenate(alarms).mean())


def _streaming(train: np.ndarray) -> Callable[[np.ndarray], object]:
    model = fit(train, tuple(str(j) for j in range(train.shape[1])))
    return lambda test: Scorer(model).update(test)


def _hotelling_scoring(train: np.ndarray) -> Callable[[np.ndarray], object]:
    return fit_hotelling(train).predict


def _points_per_s(prepare: Callable[[np.ndarray], Callable[[np.ndarray], object]], files: Labelled) -> float:
    """Sensor values scored per second over every file's test rows, fitting not counted."""
    scorers = [(prepare(values[:TRAIN_ROWS]), values[TRAIN_ROWS:]) for values, _ in files]
    points = sum(test.size for _, test in scorers)
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        for score, test in scorers:
            score(test)
        best = min(best, time.perf_counter() - start)
    return points / best
