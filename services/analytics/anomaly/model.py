"""A machine's normal behaviour, fitted on its reference period.

Each series is standardised on the reference period. The detector compares a short exponentially
weighted mean of each series (``smoothing``, about ten samples) with a slower one, the *reference*
(time constant ``reference_samples``), so slow drifts of the operating point are followed while a change
shows as a gap between the two. Each gap is divided by its typical size in the reference period, inflated
by how little that period tells about the series: a series that wanders slowly (high lag-1
autocorrelation) has few independent samples in it, so its scale gets the upper 95% confidence bound of
a standard deviation estimated from that many samples. The score is the root sum of squares of those
scaled gaps; the threshold is a high quantile of the reference period's scores times a margin. The same
settings serve every machine; nothing is fitted per file beyond what the reference period gives.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.analytics.anomaly.errors import BadSensorData

Z_95 = 1.6448536269514722  # the standard normal's 95% quantile


@dataclass(frozen=True)
class Settings:
    smoothing: float = 0.1  # weight of a new sample in the short mean
    reference_samples: float = 60.0  # time constant of the reference, in samples
    warmup: int = 120  # reference rows the filters settle on before their gaps count
    min_rows: int = 200  # fewer reference rows are an error
    quantile: float = 0.99  # of the reference period's scores ...
    margin: float = 1.3  # ... times this is the threshold
    persistence: int = 5  # samples above the threshold in a row before an anomaly starts
    release: float = 0.8  # an anomaly ends when the score falls below release * threshold
    share: float = 0.25  # a series contributes when its share of the squared score is at least this


@dataclass(frozen=True)
class FilterState:
    """Where the short means and the references stand (standardised units)."""

    short: np.ndarray
    reference: np.ndarray


@dataclass(frozen=True)
class Model:
    columns: tuple[str, ...]
    mean: np.ndarray
    std: np.ndarray
    scale: np.ndarray  # a gap of this size (standardised units) is 1 in the score
    threshold: float
    settings: Settings
    end: FilterState  # the filters at the end of the reference period, where scoring goes on

    def standardise(self, values: np.ndarray) -> np.ndarray:
        return (values - self.mean) / self.std


def fit(values: np.ndarray, columns: tuple[str, ...], settings: Settings | None = None) -> Model:
    """Fit on the reference period: ``values`` has one row per sample, one column per series."""
    settings = settings or Settings()
    values = _checked(values, columns, settings)
    mean, std = values.mean(axis=0), values.std(axis=0)
    z = (values - mean) / std
    start = FilterState(np.zeros(len(columns)), np.zeros(len(columns)))
    gaps, end = follow(z, start, settings)
    settled = gaps[settings.warmup :]
    scale = np.sqrt(np.mean(settled**2, axis=0)) * _uncertainty(z)
    scale[scale == 0] = 1.0
    scores = np.sqrt(np.sum((settled / scale) ** 2, axis=1))
    threshold = float(np.quantile(scores, settings.quantile) * settings.margin)
    return Model(tuple(columns), mean, std, scale, threshold, settings, end)


def follow(z: np.ndarray, state: FilterState, settings: Settings) -> tuple[np.ndarray, FilterState]:
    """The gaps (short mean - reference) of normal rows, every reference following its series."""
    short, reference = state.short.copy(), state.reference.copy()
    rate = 1.0 / settings.reference_samples
    gaps = np.empty_like(z)
    for i, row in enumerate(z):
        short += settings.smoothing * (row - short)
        gaps[i] = short - reference
        reference += rate * (row - reference)
    return gaps, FilterState(short, reference)


def _uncertainty(z: np.ndarray) -> np.ndarray:
    """Upper 95% bound of a standard deviation over its estimate, from each series' effective samples.

    The effective number of independent samples of an AR(1) series of lag-1 autocorrelation rho is
    nu = n (1 - rho) / (1 + rho); the bound is sqrt(nu / chi2_0.05(nu)), with the Wilson-Hilferty
    approximation of the chi-square quantile (nu at least 2, where the approximation still holds).
    """
    rho = np.clip(np.mean(z[1:] * z[:-1], axis=0), 0.0, 0.999)
    nu = np.maximum(len(z) * (1 - rho) / (1 + rho), 2.0)
    c = 2.0 / (9.0 * nu)
    chi2_low = nu * (1 - c - Z_95 * np.sqrt(c)) ** 3
    return np.sqrt(nu / chi2_low)


def _checked(values: np.ndarray, columns: tuple[str, ...], settings: Settings) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] != len(columns) or not columns:
        raise BadSensorData.of("columns", "need one or more sensor series, one column each", "NO_SERIES")
    if len(values) < settings.min_rows:
        raise BadSensorData.of(
            "train",
            f"{len(values)} rows; the reference period needs at least {settings.min_rows}",
            "TRAINING_TOO_SHORT",
        )
    if not np.all(np.isfinite(values)):
        raise BadSensorData.of("train", "holds values that are not finite numbers", "NOT_NUMERIC")
    constant = [name for name, col in zip(columns, values.T, strict=True) if np.ptp(col) == 0]
    if constant:
        raise BadSensorData.of(
            ", ".join(constant),
            "constant over the reference period, so nothing tells what normal variation is; drop it",
            "CONSTANT_SERIES",
        )
    return values
