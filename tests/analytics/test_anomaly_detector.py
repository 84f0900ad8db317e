"""The anomaly detector on synthetic machines: causal, names the faulty series, refuses bad input."""

from __future__ import annotations

import numpy as np
import pytest

from services.analytics.anomaly import BadSensorData, Scorer, anomalies, fit
from services.analytics.anomaly.protocol import Counts, counts
from services.analytics.anomaly.tables import parse_table

COLUMNS = ("Current", "Pressure", "Flow", "Vibration", "Temperature")


def machine(rows: int, seed: int) -> np.ndarray:
    """Five sensors driven by two shared load factors plus noise, and a slowly drifting temperature."""
    gen = np.random.default_rng(seed)
    load = np.cumsum(gen.normal(0, 0.05, (rows, 2)), axis=0) * 0.2 + gen.normal(0, 0.3, (rows, 2))
    mixing = np.array([[1.0, 0.2], [0.6, 0.8], [0.7, -0.5], [0.1, 0.9], [0.0, 0.0]])
    values = load @ mixing.T + gen.normal(0, 0.3, (rows, 5))
    values[:, 4] += np.linspace(0, 0.5, rows)
    return values + np.array([10.0, 2.0, 30.0, 0.03, 60.0])


@pytest.fixture(scope="module")
def model():
    return fit(machine(400, 1), COLUMNS)


def test_appending_future_rows_never_changes_past_scores(model):
    test = machine(900, 2)
    test[500:600, 1] += 5.0
    whole = Scorer(model).update(test)
    for cut in (1, 350, 550, 899):
        head = Scorer(model).update(test[:cut])
        assert np.array_equal(head.score, whole.score[:cut])
        assert np.array_equal(head.anomaly, whole.anomaly[:cut])


def test_feeding_rows_in_batches_gives_the_same_scores(model):
    test = machine(700, 3)
    test[200:400, 2] -= 4.0
    whole = Scorer(model).update(test)
    scorer = Scorer(model)
    parts = [scorer.update(test[a:b]) for a, b in ((0, 1), (1, 250), (250, 251), (251, 700))]
    assert np.array_equal(np.concatenate([p.score for p in parts]), whole.score)
    assert np.array_equal(np.concatenate([p.anomaly for p in parts]), whole.anomaly)


def test_a_fault_in_one_sensor_is_found_and_named(model):
    test = machine(900, 4)
    test[400:550, 1] += 4.0  # Pressure steps up for 150 s, the others carry on
    scores = Scorer(model).update(test)
    found = anomalies(scores, COLUMNS)
    hits = [a for a in found if a.start < 550 and a.stop > 400]
    assert len(hits) == 1
    assert hits[0].series[0] == "Pressure"
    assert hits[0].start - 400 < 30 and abs(hits[0].stop - 550) < 40
    outside = np.r_[scores.anomaly[:400], scores.anomaly[600:]]
    assert outside.mean() < 0.05


def test_normal_running_raises_few_alarms(model):
    assert Scorer(model).update(machine(2000, 5)).anomaly.mean() < 0.05


def test_too_few_training_rows():
    with pytest.raises(BadSensorData, match="at least 200") as caught:
        fit(machine(50, 6), COLUMNS)
    assert caught.value.reason == "TRAINING_TOO_SHORT"


def test_a_constant_series_is_refused_by_name():
    values = machine(400, 7)
    values[:, 3] = 0.5
    with pytest.raises(BadSensorData, match="Vibration: constant") as caught:
        fit(values, COLUMNS)
    assert caught.value.reason == "CONSTANT_SERIES"


def test_non_finite_training_values():
    values = machine(400, 8)
    values[10, 0] = np.nan
    with pytest.raises(BadSensorData) as caught:
        fit(values, COLUMNS)
    assert caught.value.reason == "NOT_NUMERIC"


def test_scoring_needs_the_training_series(model):
    with pytest.raises(BadSensorData) as caught:
        Scorer(model).update(machine(10, 9)[:, :3])
    assert caught.value.reason == "MISSING_SERIES"


@pytest.mark.parametrize(
    ("text", "reason", "says"),
    [
        ("time,a\n2020-01-01 00:00:00,1\n", "MISSING_DATETIME", "no 'datetime' column"),
        ("datetime;a;b\n2020-01-01 00:00:00;1;x\n", "NOT_NUMERIC", "row 1: 'x' is not a number"),
        ("datetime,a\n2020-01-01 00:00:01,1\n2020-01-01 00:00:00,2\n", "UNORDERED_TIME", "before the row"),
        ("datetime,a\nyesterday,1\n", "MISSING_DATETIME", "not an ISO 8601 time"),
        ("datetime,anomaly\n2020-01-01 00:00:00,1\n", "NO_SERIES", "no sensor columns"),
        ("", "EMPTY_INPUT", "is empty"),
    ],
)
def test_bad_tables(text, reason, says):
    with pytest.raises(BadSensorData, match=says) as caught:
        parse_table(text)
    assert caught.value.reason == reason


def test_tables_read_either_separator_and_drop_labels():
    semi = parse_table("datetime;a;b;anomaly;changepoint\n2020-01-01 00:00:00;1;2.5;0;0\n")
    comma = parse_table("datetime,a,b\n2020-01-01 00:00:00,1,2.5\n")
    assert semi.columns == comma.columns == ("a", "b")
    assert np.array_equal(semi.values, comma.values)
    assert set(semi.labels) == {"anomaly", "changepoint"}


def test_pooled_counts_and_rates():
    c = counts(np.array([1, 1, 0, 0, 1]), np.array([1, 0, 1, 0, 1])) + Counts(tp=1, tn=1)
    assert c == Counts(tp=3, fp=1, fn=1, tn=2)
    assert c.f1 == pytest.approx(3 / (3 + 1)) and c.far == pytest.approx(1 / 3) and c.mar == 0.25
