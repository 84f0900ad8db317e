"""The anomaly detector on the SKAB development data, with the leaderboard's protocol (DESIGN.md §6)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from services.analytics.anomaly import detect
from services.analytics.anomaly.protocol import TRAIN_ROWS, evaluate
from sf.bench.anomaly import hotelling, labelled, skab_tables
from sf.bench.codec_corpus import skab_dir


@pytest.fixture(scope="module")
def files():
    folder = skab_dir()
    found = labelled(skab_tables(folder)) if folder.is_dir() else []
    if not found:
        pytest.skip(f"SKAB data not found at {folder}; set SF_SKAB_DIR (or SKAB_DIR)")
    return found


def test_meets_the_targets_and_beats_hotelling(files):
    ours, baseline = evaluate(detect, files), evaluate(hotelling, files)
    assert ours.f1 >= 0.82, ours
    assert ours.far <= 0.15, ours
    assert ours.f1 > baseline.f1 and ours.far < baseline.far


def test_the_protocol_scores_always_anomaly_as_the_readme_says(files):
    always = evaluate(lambda train, test: np.ones(len(test), dtype=np.int8), files)
    assert always.far == 1.0 and always.mar == 0.0
    assert always.f1 == pytest.approx(0.70, abs=0.01)
    assert always.tp + always.fp == sum(len(values) - TRAIN_ROWS for values, _ in files)


def test_the_order_of_the_files_changes_nothing(files):
    order = list(range(len(files)))
    random.Random(8).shuffle(order)
    assert order != sorted(order)
    assert evaluate(detect, [files[i] for i in order]) == evaluate(detect, files)
