"""A paced backfill lane against the real ingest service: batches spaced by the limit, live ones not held.

The spacing is measured where the batches go out (the pacer charging each), not where their acks come
back: an ack that came back late brings the next one's interval under the limit (a full-suite run saw
0.978 s between two acks of batches sent 1 s apart)."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time

import grpc

from sfclient.backlog import Backlog
from sfclient.pacing import Pacer
from sfclient.policy import SessionPolicy
from sfclient.session import DeviceSession
from sfcloud.v1 import ingest_pb2, ingest_pb2_grpc
from tests.e2e.provision import create_tenant

LIMIT = 1_000  # points a second
BATCH = 1_000


class WatchedPacer(Pacer):
    """A pacer that notes when each batch it charges goes out."""

    def __init__(self, name: str, limit: float):
        super().__init__(name, lambda: limit)
        self.sent_at: list[float] = []

    def charge(self, points: int) -> None:
        self.sent_at.append(time.monotonic())
        super().charge(points)


def points(series_id: str, start_ns: int) -> list[ingest_pb2.SeriesPoints]:
    return [
        ingest_pb2.SeriesPoints(
            series_id=series_id,
            timestamps_ns=[start_ns + i * 10**6 for i in range(BATCH)],
            values=[float(i) for i in range(BATCH)],
        )
    ]


async def test_backfill_batches_go_out_at_the_limit_and_live_ones_are_not_held(stack, signer, caplog):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Paced device")
    series = tenant.series_ids[0]
    acked: dict[int, float] = {}
    three_acked = asyncio.Event()

    def on_ack(batch, _response) -> None:
        acked[batch.batch_no] = time.monotonic()
        if len(acked) == 3:
            three_acked.set()

    caplog.set_level(logging.INFO, logger="sfclient.pacing")
    pacer = WatchedPacer("paced", LIMIT)
    async with grpc.aio.insecure_channel(stack.targets["ingest"]) as channel:
        session = DeviceSession(
            "paced",
            ingest_pb2_grpc.IngestServiceStub(channel),
            tenant.credential,
            Backlog(100_000),
            SessionPolicy(ack_timeout_s=5),
            on_ack=on_ack,
            backfill_pacer=pacer,
        )
        running = asyncio.create_task(session.run())
        hour_ago = time.time_ns() - 3_600 * 10**9
        for n in range(3):
            session.offer(points(series, hour_ago + n * 10**9), ingest_pb2.LANE_BACKFILL)
        await asyncio.wait_for(three_acked.wait(), 10)
        session.offer(points(series, time.time_ns()), ingest_pb2.LANE_LIVE)
        session.offer(points(series, hour_ago + 3 * 10**9), ingest_pb2.LANE_BACKFILL)
        await session.drained()
        session.close()
        await running

    assert len(pacer.sent_at) == 4  # the backfill batches, each charged once: the live one went unpaced
    spacing = BATCH / LIMIT - 0.02  # the event loop's timer may wake a little early
    assert all(later - earlier >= spacing for earlier, later in itertools.pairwise(pacer.sent_at)), (
        pacer.sent_at
    )
    live, fourth = acked[4], acked[5]
    assert live < fourth  # the live batch went at once, though the lane was paced until the fourth
    assert session.stats.points_acked == 5 * BATCH
    assert [r.points_per_s for r in caplog.records if "backfill paced" in r.message] == [LIMIT]
