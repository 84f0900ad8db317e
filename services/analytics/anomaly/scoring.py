"""Streaming, causal scoring of a fitted model, and the anomalies it finds.

A ``Scorer`` keeps the filters and the alarm between calls, so feeding rows in one call or many gives
the same answer, and a row's score never depends on a later row or on where the row sits in a file or
stream. An anomaly starts after ``persistence`` scores above the threshold in a row and ends when the
score falls below ``release`` * threshold. While it lasts, the references of the series that contribute
to it stand still (the others go on following their series), so a lasting fault is not learnt as the new
normal: it is reported until the series come back, or until the machine is refitted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.analytics.anomaly.errors import BadSensorData
from services.analytics.anomaly.model import FilterState, Model


@dataclass(frozen=True)
class Scores:
    score: np.ndarray  # per row; the anomaly threshold is the model's
    anomaly: np.ndarray  # per row, 0 or 1
    shares: np.ndarray  # per row and series: its share of the squared score (rows sum to 1)
    contributing: np.ndarray  # per row and series: True where the series contributes to an anomaly


@dataclass(frozen=True)
class Anomaly:
    start: int  # first row (index into the scored rows)
    stop: int  # one past the last row
    series: tuple[str, ...]  # contributing series, the largest share first
    peak_score: float


class Scorer:
    """Scores rows as they come, carrying the filters and the alarm from one call to the next."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self._short = model.end.short.copy()
        self._reference = model.end.reference.copy()
        self._above = 0
        self._active = False
        self._frozen = np.zeros(len(model.columns), dtype=bool)

    @property
    def state(self) -> FilterState:
        return FilterState(self._short.copy(), self._reference.copy())

    def snapshot(self) -> dict:
        """Where scoring stands, as JSON-ready data: ``resume`` goes on from it exactly."""
        return {
            "short": self._short.tolist(),
            "reference": self._reference.tolist(),
            "above": self._above,
            "active": self._active,
            "frozen": self._frozen.tolist(),
        }

    @classmethod
    def resume(cls, model: Model, snapshot: dict) -> Scorer:
        scorer = cls(model)
        scorer._short = np.asarray(snapshot["short"], np.float64)
        scorer._reference = np.asarray(snapshot["reference"], np.float64)
        scorer._above = int(snapshot["above"])
        scorer._active = bool(snapshot["active"])
        scorer._frozen = np.asarray(snapshot["frozen"], bool)
        return scorer

    def update(self, values: np.ndarray) -> Scores:
        z = self.model.standardise(_checked(values, len(self.model.columns)))
        n, d = z.shape
        score, anomaly = np.empty(n), np.zeros(n, dtype=np.int8)
        shares, contributing = np.empty((n, d)), np.zeros((n, d), dtype=bool)
        for i in range(n):
            score[i], shares[i] = self._step(z[i])
            anomaly[i] = self._active
            contributing[i] = self._frozen
        return Scores(score, anomaly, shares, contributing)

    def _step(self, row: np.ndarray) -> tuple[float, np.ndarray]:
        settings, threshold = self.model.settings, self.model.threshold
        self._short += settings.smoothing * (row - self._short)
        squared = ((self._short - self._reference) / self.model.scale) ** 2
        total = float(squared.sum())
        score = total**0.5
        self._above = self._above + 1 if score > threshold else 0
        if not self._active and self._above >= settings.persistence:
            self._active = True
        elif self._active and score < settings.release * threshold:
            self._active = False
        share = squared / total if total > 0 else np.zeros_like(squared)
        self._frozen = (share >= settings.share) if self._active else np.zeros_like(self._frozen)
        self._reference += np.where(self._frozen, 0.0, 1.0 / settings.reference_samples) * (
            row - self._reference
        )
        return score, share


def anomalies(scores: Scores, columns: tuple[str, ...]) -> list[Anomaly]:
    """Each run of anomalous rows, with the series that contributed, the largest share first."""
    flags = np.concatenate(([0], scores.anomaly.astype(np.int8), [0]))
    edges = np.flatnonzero(np.diff(flags))
    found = []
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        weight = np.where(scores.contributing[start:stop], scores.shares[start:stop], 0.0).sum(axis=0)
        order = [j for j in np.argsort(-weight, kind="stable") if weight[j] > 0]
        peak = float(scores.score[start:stop].max())
        found.append(Anomaly(int(start), int(stop), tuple(columns[j] for j in order), peak))
    return found


def _checked(values: np.ndarray, width: int) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] != width:
        raise BadSensorData.of("values", f"need rows of {width} series", "MISSING_SERIES")
    if not np.all(np.isfinite(values)):
        raise BadSensorData.of("values", "holds values that are not finite numbers", "NOT_NUMERIC")
    return values
