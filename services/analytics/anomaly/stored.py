"""A fitted model and where its scoring stands, as the JSON stored in ``analytics.anomaly_models``
(migration 0019): analytics writes both when it fits a machine, the worker reads and updates the state
each time it scores. Floats go through JSON as Python floats, which keep every float64 exactly."""

from __future__ import annotations

import dataclasses

import numpy as np

from services.analytics.anomaly.episodes import Episode
from services.analytics.anomaly.model import FilterState, Model, Settings
from services.analytics.anomaly.scoring import Scorer


def model_json(model: Model) -> dict:
    return {
        "columns": list(model.columns),
        "mean": model.mean.tolist(),
        "std": model.std.tolist(),
        "scale": model.scale.tolist(),
        "threshold": model.threshold,
        "settings": dataclasses.asdict(model.settings),
        "end": {"short": model.end.short.tolist(), "reference": model.end.reference.tolist()},
    }


def model_from_json(data: dict) -> Model:
    return Model(
        tuple(data["columns"]),
        np.asarray(data["mean"]),
        np.asarray(data["std"]),
        np.asarray(data["scale"]),
        float(data["threshold"]),
        Settings(**data["settings"]),
        FilterState(np.asarray(data["end"]["short"]), np.asarray(data["end"]["reference"])),
    )


def state_json(scorer: Scorer, carry: np.ndarray, episode: Episode | None) -> dict:
    """The scorer's snapshot, each series' last value (None where none yet) and the open anomaly."""
    return {
        "scorer": scorer.snapshot(),
        "carry": [None if np.isnan(v) else float(v) for v in carry],
        "episode": dataclasses.asdict(episode) if episode else None,
    }


def state_from_json(model: Model, data: dict) -> tuple[Scorer, np.ndarray, Episode | None]:
    carry = np.array([np.nan if v is None else v for v in data["carry"]], np.float64)
    episode = Episode(**data["episode"]) if data["episode"] else None
    return Scorer.resume(model, data["scorer"]), carry, episode
