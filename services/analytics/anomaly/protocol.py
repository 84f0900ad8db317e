"""The SKAB leaderboard's protocol: fit on each file's first rows, score the rest, pool the counts.

F1 = TP / (TP + (FP + FN) / 2), false-alarm rate FAR = FP / (FP + TN), missed-alarm rate
MAR = FN / (FN + TP), over the counts of every file together.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

TRAIN_ROWS = 400

# A detector fits on the training rows and answers 0/1 for each test row.
Detector = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.tn + other.tn)

    @property
    def f1(self) -> float:
        return self.tp / (self.tp + (self.fp + self.fn) / 2) if self.tp else 0.0

    @property
    def far(self) -> float:
        return self.fp / (self.fp + self.tn) if self.fp + self.tn else 0.0

    @property
    def mar(self) -> float:
        return self.fn / (self.fn + self.tp) if self.fn + self.tp else 0.0


def counts(predicted: np.ndarray, truth: np.ndarray) -> Counts:
    p, t = np.asarray(predicted) == 1, np.asarray(truth) == 1
    return Counts(int(np.sum(p & t)), int(np.sum(p & ~t)), int(np.sum(~p & t)), int(np.sum(~p & ~t)))


def evaluate(detector: Detector, files: Iterable[tuple[np.ndarray, np.ndarray]]) -> Counts:
    """Pooled counts over ``files``, each (values, labels), fitted on its first ``TRAIN_ROWS`` rows."""
    total = Counts()
    for values, labels in files:
        predicted = detector(values[:TRAIN_ROWS], values[TRAIN_ROWS:])
        total += counts(predicted, labels[TRAIN_ROWS:])
    return total
