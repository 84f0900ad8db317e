"""The baseline: Hotelling's T² against the reference period, threshold its 99th percentile.

The mean and covariance come from the reference period; a row is anomalous when its T² exceeds the
99th percentile of the reference rows' T². Each row is scored alone, so it is causal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

QUANTILE = 0.99


@dataclass(frozen=True)
class Hotelling:
    mean: np.ndarray
    precision: np.ndarray
    threshold: float

    def t2(self, values: np.ndarray) -> np.ndarray:
        centred = np.asarray(values, dtype=np.float64) - self.mean
        return np.einsum("ij,jk,ik->i", centred, self.precision, centred)

    def predict(self, values: np.ndarray) -> np.ndarray:
        return (self.t2(values) > self.threshold).astype(np.int8)


def fit_hotelling(values: np.ndarray) -> Hotelling:
    values = np.asarray(values, dtype=np.float64)
    mean = values.mean(axis=0)
    precision = np.linalg.pinv(np.cov(values, rowvar=False))
    centred = values - mean
    t2 = np.einsum("ij,jk,ik->i", centred, precision, centred)
    return Hotelling(mean, precision, float(np.quantile(t2, QUANTILE)))
