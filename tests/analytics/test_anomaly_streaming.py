"""The pieces that let the worker score a machine a few steps at a time: the grid of rows, the scorer's
state through JSON, and anomalies followed across calls (the same as scoring everything at once)."""

from __future__ import annotations

import json

import numpy as np

from services.analytics.anomaly import Scorer, anomalies, fit
from services.analytics.anomaly.episodes import follow
from services.analytics.anomaly.grid import grid_rows
from services.analytics.anomaly.stored import model_from_json, model_json, state_from_json, state_json
from tests.analytics.test_anomaly_detector import COLUMNS, machine

NAN = float("nan")


def test_a_step_is_the_mean_of_its_points_and_a_silent_series_keeps_its_last_value():
    a = (np.array([0, 5, 10, 25]), np.array([1.0, 3.0, 4.0, 6.0]))
    b = (np.array([1, 12]), np.array([10.0, np.nan]))  # NaN is no value
    rows = grid_rows([a, b], 10, 0, 30, np.array([NAN, NAN]))
    assert rows.starts.tolist() == [0, 10, 20]
    assert rows.values.tolist() == [[2.0, 10.0], [4.0, 10.0], [6.0, 10.0]]
    assert rows.carry.tolist() == [6.0, 10.0]


def test_rows_wait_for_every_series_and_steps_without_points_are_skipped():
    a = (np.array([0, 35]), np.array([1.0, 2.0]))
    b = (np.array([15]), np.array([7.0]))
    rows = grid_rows([a, b], 10, 0, 40, np.array([NAN, NAN]))
    assert rows.starts.tolist() == [10, 30]  # step 0 lacks b; step 20 has no point at all
    assert rows.values.tolist() == [[1.0, 7.0], [2.0, 7.0]]
    carried = grid_rows(
        [(np.array([45]), np.array([3.0])), (np.empty(0, np.int64), np.empty(0))], 10, 40, 50, rows.carry
    )
    assert carried.values.tolist() == [[3.0, 7.0]]


def test_only_whole_steps_inside_the_range_count():
    a = (np.array([-1, 0, 19, 20]), np.array([9.0, 1.0, 2.0, 9.0]))
    rows = grid_rows([a], 10, 0, 25, np.array([NAN]))
    assert rows.starts.tolist() == [0, 10] and rows.values.ravel().tolist() == [1.0, 2.0]


def test_scoring_resumed_from_json_between_calls_matches_one_call():
    model = fit(machine(400, 1), COLUMNS)
    test = machine(900, 2)
    test[500:600, 1] += 5.0
    test[700:760, 3] -= 4.0
    whole = Scorer(model).update(test)
    starts = np.arange(900, dtype=np.int64) * 10

    stored_model = json.loads(json.dumps(model_json(model)))
    scorer, carry, episode, episodes = Scorer(model_from_json(stored_model)), np.full(5, NAN), None, []
    for lo, hi in [(0, 1), (1, 503), (503, 520), (520, 650), (650, 900)]:
        scores = scorer.update(test[lo:hi])
        assert np.array_equal(scores.score, whole.score[lo:hi])
        touched = follow(episode, starts[lo:hi], scores)
        episodes += [e for e in touched if e not in episodes]
        episode = touched[-1] if touched and not touched[-1].ended else None
        scorer, carry, episode = state_from_json(
            model_from_json(stored_model), json.loads(json.dumps(state_json(scorer, carry, episode)))
        )
        episodes = [episode if episode and e.start_ns == episode.start_ns else e for e in episodes]

    expected = anomalies(whole, COLUMNS)
    assert len(expected) >= 2
    assert [(e.start_ns // 10, e.end_ns(10) // 10 if e.ended else 900) for e in episodes] == [
        (a.start, a.stop) for a in expected
    ]
    assert [tuple(COLUMNS[j] for j in e.contributing()) for e in episodes] == [a.series for a in expected]
    assert [e.peak for e in episodes] == [a.peak_score for a in expected]
