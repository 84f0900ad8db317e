"""Replays at scale (RELIABILITY D3): the same points resent three times, in order, shuffled and from several
connections at once, are stored exactly once, and every point dropped is counted to the point.

Two kinds of replay, as devices make them: a resend on the same session after acknowledgements were lost
(the batches are duplicates: nothing is stored, nothing counted), and a resend on a new session after the
device lost its own state (each point meets a stored value at its timestamp: first write wins, so it is
dropped and counted as a conflict, whatever its value; docs/INGEST.md). Then 1,000 points come again with
changed values: the stored values stay, and the counter rises by exactly 1,000.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid

import pytest

from sfcloud.v1 import ingest_pb2
from tests.durability.stored import stored_pairs
from tests.e2e.provision import create_tenant, send_batches
from tests.e2e.test_conflicts import conflicts_counted

SERIES = 4
PER_BATCH = 1_000  # points a batch, PER_BATCH // SERIES of each series
CONNECTIONS = 3
CHANGED = 1_000

Point = tuple[str, int, float]  # series, timestamp, value


def first_points(series_ids: list[str], total: int) -> list[Point]:
    """``total`` points, the series interleaved, 1 ms apart within a series, a day back."""
    start = time.time_ns() - 86_400 * 10**9
    per_series = total // len(series_ids)
    return [
        (series_id, start + i * 10**6, float(s * per_series + i))
        for i in range(per_series)
        for s, series_id in enumerate(series_ids)
    ]


def batches(points: list[Point], session: str) -> list[ingest_pb2.IngestRequest]:
    """The points in batches of PER_BATCH, numbered 1, 2, … on ``session``."""
    requests = []
    for n, first in enumerate(range(0, len(points), PER_BATCH), start=1):
        by_series: dict[str, tuple[list[int], list[float]]] = {}
        for series_id, ts, value in points[first : first + PER_BATCH]:
            by_series.setdefault(series_id, ([], []))
            by_series[series_id][0].append(ts)
            by_series[series_id][1].append(value)
        entries = [
            ingest_pb2.SeriesPoints(series_id=s, timestamps_ns=t, values=v) for s, (t, v) in by_series.items()
        ]
        requests.append(ingest_pb2.IngestRequest(session_id=session, batch_no=n, series=entries))
    return requests


async def replay(
    target: str, credential: str, requests: list[ingest_pb2.IngestRequest]
) -> tuple[int, int, int]:
    """Send the batches on one stream; (points stored, points counted as conflicts, duplicate batches)."""
    acks = await send_batches(target, credential, requests)
    assert len(acks) == len(requests)
    return (
        sum(a.points_stored for a in acks),
        sum(a.conflicts for a in acks),
        sum(a.duplicate for a in acks),
    )


async def replays_store_once(stack, signer, admin_conn, total: int) -> None:
    tenant = await create_tenant(
        stack.targets["tenancy"], signer, "Replays", series_count=SERIES, plan="enterprise"
    )
    target, credential = stack.targets["ingest"], tenant.credential
    points = first_points(tenant.series_ids, total)
    session = str(uuid.uuid4())
    sent = batches(points, session)
    counted = lambda: conflicts_counted(admin_conn, tenant.id)  # noqa: E731

    assert await replay(target, credential, sent) == (total, 0, 0)
    # 1. in order on the same session, every acknowledgement lost: duplicates, nothing stored or counted
    assert await replay(target, credential, sent) == (0, 0, len(sent))
    assert counted() == 0
    # 2. shuffled and regrouped, on a new session: every point meets its stored value and is counted once
    shuffled = random.Random(3).sample(points, len(points))
    assert await replay(target, credential, batches(shuffled, str(uuid.uuid4()))) == (0, total, 0)
    assert counted() == total
    # 3. from several connections at once: the lost-acknowledgement replay, then one new session each
    same = await asyncio.gather(*(replay(target, credential, sent) for _ in range(CONNECTIONS)))
    assert same == [(0, 0, len(sent))] * CONNECTIONS
    fresh = await asyncio.gather(
        *(replay(target, credential, batches(points, str(uuid.uuid4()))) for _ in range(CONNECTIONS))
    )
    assert fresh == [(0, total, 0)] * CONNECTIONS
    assert counted() == (1 + CONNECTIONS) * total
    # 4. 1,000 points again with changed values: the first stays, and exactly 1,000 more are counted
    changed = [(s, ts, value + 0.5) for s, ts, value in random.Random(4).sample(points, CHANGED)]
    assert await replay(target, credential, batches(changed, str(uuid.uuid4()))) == (0, CHANGED, 0)
    assert counted() == (1 + CONNECTIONS) * total + CHANGED

    stored_total, pairs, values = stored_pairs(stack.admin_url, tenant.id)
    assert stored_total == len(pairs) == total, f"{stored_total - len(pairs)} duplicates"
    assert values == {(s, ts): value for s, ts, value in points}


async def test_ten_thousand_points_replayed_three_ways_are_stored_once(stack, signer, admin_conn):
    """RELIABILITY D3: 10,000 points resent in order, shuffled and from 3 connections: stored once, counted exactly."""
    await replays_store_once(stack, signer, admin_conn, 10_000)


@pytest.mark.long
@pytest.mark.timeout(600)
async def test_a_hundred_thousand_points_replayed_three_ways_are_stored_once(stack, signer, admin_conn):
    """RELIABILITY D3: 100,000 points resent in order, shuffled and from 3 connections: stored once, counted exactly."""
    await replays_store_once(stack, signer, admin_conn, 100_000)
