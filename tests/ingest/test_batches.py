"""Validating a batch over all its series at once: the same columns, and the same first fault, as series by series.

``validate`` checks windows and time order with one array operation per batch and ``repeated_series`` finds
the series with a timestamp twice in one pass; these tests hold both to the per-series rules they replace.
"""

from __future__ import annotations

import uuid

import numpy as np
import pytest

import tscodec
from services.ingest.batches import (
    MAX_POINTS,
    IncomingBlock,
    IncomingSeries,
    SeriesColumns,
    repeated_series,
    validate,
    without_known,
)
from services.ingest.errors import MalformedBatch

NOW_NS = 1_765_000_000 * 10**9


def series_by_series(entries: list[IncomingSeries], blocks: list[IncomingBlock]) -> dict:
    """The expected columns: each series' points merged and stably sorted, a lone ordered block kept as sent."""
    parts: dict[str, list] = {}
    for e in entries:
        parts.setdefault(e.series_id, []).append(
            (np.asarray(e.timestamps_ns, np.int64), np.asarray(e.values, float), None)
        )
    for b in blocks:
        parts.setdefault(b.series_id, []).append((*tscodec.decode(b.payload), b.payload))
    expected = {}
    for sid, ps in parts.items():  # an empty entry still counts as a part (and for the order of series)
        ts = np.concatenate([p[0] for p in ps])
        vs = np.concatenate([p[1] for p in ps])
        if not ts.size:
            continue
        order = np.argsort(ts, kind="stable")
        ordered = len(ps) == 1 and bool(np.all(ts[1:] >= ts[:-1]))
        expected[uuid.UUID(sid)] = (ts[order], vs[order], ps[0][2] if ordered else None)
    return expected


def test_many_series_come_out_as_series_by_series():
    rng = np.random.default_rng(11)
    ids = [str(uuid.uuid4()) for _ in range(300)]
    entries = []
    for n in range(900):  # each id about three times, some entries empty, some out of order
        size = int(rng.integers(0, 12))
        ts = (
            NOW_NS - rng.integers(0, 10**12, size)
            if n % 4 == 0
            else NOW_NS - 10**12 + np.arange(size) * 10**9
        )
        entries.append(
            IncomingSeries(ids[int(rng.integers(0, len(ids)))], ts.tolist(), rng.random(size).tolist())
        )
    lone = str(uuid.uuid4())
    ordered = np.arange(5, dtype=np.int64) + NOW_NS - 10**12
    blocks = [
        IncomingBlock(lone, tscodec.encode(ordered, np.ones(5))),  # a device block alone: stored as sent
        IncomingBlock(ids[0], tscodec.encode(ordered[::-1], np.arange(5.0))),  # merged into a plain series
    ]

    got = {s.series_id: (s.timestamps, s.values, s.payload) for s in validate(entries, blocks, now_ns=NOW_NS)}

    expected = series_by_series(entries, blocks)
    assert list(got) == list(expected)  # in order of first appearance
    for sid, (ts, vs, payload) in expected.items():
        assert got[sid][0].tolist() == ts.tolist() and got[sid][1].tolist() == vs.tolist()
        assert got[sid][2] == payload
    assert got[uuid.UUID(lone)][2] is not None and got[uuid.UUID(ids[0])][2] is None


def field_of(entries: list[IncomingSeries], blocks: list[IncomingBlock] = ()) -> str:
    with pytest.raises(MalformedBatch) as caught:
        validate(entries, blocks, now_ns=NOW_NS)
    return caught.value.violations[0].field


def entry(ts: list[int], sid: str | None = None) -> IncomingSeries:
    return IncomingSeries(sid or str(uuid.uuid4()), ts, [0.0] * len(ts))


def test_the_first_fault_in_batch_order_is_named():
    good, late = [NOW_NS - 10], [NOW_NS, NOW_NS + 2 * 86_400 * 10**9]
    assert field_of([entry(good), entry(good), entry(late), entry(late)]) == "series[2].timestamps_ns[1]"
    assert field_of([entry(good), entry([-1]), entry(good, "not-a-uuid")]) == "series[1].timestamps_ns[0]"
    assert field_of([entry(good, "not-a-uuid"), entry(late)]) == "series[0].series_id"
    assert field_of([entry(good), IncomingSeries(str(uuid.uuid4()), [1, 2], [0.0])]) == "series[1]"
    assert field_of([entry(good)], [IncomingBlock(str(uuid.uuid4()), b"SFTS")]) == "blocks[0].payload"
    late_block = IncomingBlock(str(uuid.uuid4()), tscodec.encode(late, [1.0, 2.0]))
    assert field_of([entry(good)], [late_block]) == "blocks[0].timestamps_ns[1]"


def test_too_many_points_is_named_after_earlier_faults_only():
    full = entry((NOW_NS - np.arange(MAX_POINTS)[::-1]).tolist())
    assert field_of([full, entry([-1])]) == "series"  # the limit, reached before the later part is checked
    assert field_of([entry([1, -1]), full]) == "series[0].timestamps_ns[1]"  # an earlier fault first


def test_repeated_series_are_those_without_known_would_trim():
    rng = np.random.default_rng(5)
    for _ in range(200):
        series = [
            SeriesColumns(uuid.uuid4(), np.sort(rng.integers(0, 8, n)), np.zeros(n))
            for n in rng.integers(1, 6, int(rng.integers(1, 8)))
        ]
        trimmed = {i for i, s in enumerate(series) if without_known(s, np.empty(0, np.int64))[1]}
        assert repeated_series(series) == trimmed
