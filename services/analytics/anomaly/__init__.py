"""Multivariate anomaly detection per machine: fitted on a reference period, scored causally.

``fit`` learns a machine's normal behaviour from its reference period (``model``); a ``Scorer`` scores
rows as they arrive and names the series behind each anomaly (``scoring``); ``tables`` reads CSV sensor
tables; ``protocol`` holds the SKAB leaderboard's evaluation; ``hotelling`` the T² baseline. The method
and its measured figures are in docs/ANALYTICS.md.
"""

from __future__ import annotations

import numpy as np

from services.analytics.anomaly.errors import BadSensorData
from services.analytics.anomaly.model import Model, Settings, fit
from services.analytics.anomaly.scoring import Anomaly, Scorer, Scores, anomalies

__all__ = ["Anomaly", "BadSensorData", "Model", "Scorer", "Scores", "Settings", "anomalies", "detect", "fit"]


def detect(train: np.ndarray, test: np.ndarray, columns: tuple[str, ...] | None = None) -> np.ndarray:
    """0/1 per test row, fitted on ``train`` with the default settings (the protocol's detector)."""
    columns = columns or tuple(f"series {j}" for j in range(np.shape(train)[1]))
    return Scorer(fit(train, columns)).update(test).anomaly
