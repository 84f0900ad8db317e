"""Anomalies as episodes in time, followed across scoring calls.

``scoring.anomalies`` finds the runs of anomalous rows inside one call; the worker scores a machine a few
steps at a time, so an anomaly may start in one call and end many calls later. An ``Episode`` carries
what is known of one anomaly from call to call: when it started, its peak score and each series' summed
share of the squared score over the rows it contributed to, from which the contributing series are named.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from services.analytics.anomaly.scoring import Scores


@dataclass
class Episode:
    start_ns: int
    last_ns: int  # the start of its latest anomalous step
    ended: bool
    peak: float
    weights: list[float]  # per series (the model's column order)
    id: int | None = field(default=None)  # its stored row, once stored

    def end_ns(self, step_ns: int) -> int | None:
        """The end of its last anomalous step; None while it lasts."""
        return self.last_ns + step_ns if self.ended else None

    def contributing(self) -> list[int]:
        """The columns that contributed, the largest summed share first."""
        order = np.argsort(-np.asarray(self.weights), kind="stable")
        return [int(j) for j in order if self.weights[j] > 0]


def follow(open_episode: Episode | None, starts: np.ndarray, scores: Scores) -> list[Episode]:
    """The episodes these scored rows touch, in time order: the open one carried on (if any), then every
    one starting here; all but possibly the last are ended."""
    touched = [open_episode] if open_episode else []
    current = open_episode
    weighted = np.where(scores.contributing, scores.shares, 0.0)
    for i, flagged in enumerate(scores.anomaly):
        if flagged and current is None:
            current = Episode(int(starts[i]), int(starts[i]), False, 0.0, [0.0] * weighted.shape[1])
            touched.append(current)
        elif not flagged and current is not None:
            current.ended = True
            current = None
        if current is not None:
            current.last_ns = int(starts[i])
            current.peak = max(current.peak, float(scores.score[i]))
            current.weights = [w + float(x) for w, x in zip(current.weights, weighted[i], strict=True)]
    return touched
