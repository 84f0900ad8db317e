"""The forwarder against the real ingest service: the buffer drains exactly once, lost acks included."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time

import grpc
import pytest

from edge.buffer import Buffer
from edge.forwarder import BufferSink, Forwarder, ForwardOptions
from edge.readings import Reading
from sfclient.batches import batch_parts
from sfclient.policy import SessionPolicy
from sfcloud.v1 import ingest_pb2, ingest_pb2_grpc
from tests.e2e.provision import create_tenant, send_batches

OPTIONS = ForwardOptions(
    batch_points=1_000,
    drain_min_points_per_s=10**7,  # pace is the last test's subject; the others drain at once
    policy=SessionPolicy(ack_timeout_s=5, backoff_initial_s=0.05),
)


def stored_points(admin_conn, tenant_id) -> int:
    row = admin_conn.execute(
        "SELECT coalesce(sum(count), 0) FROM telemetry.blocks WHERE tenant_id = %s", [tenant_id]
    )
    return row.fetchone()[0]


async def forward_until_empty(
    stack, buffer: Buffer, sink: BufferSink, credential: str, options: ForwardOptions = OPTIONS
) -> Forwarder:
    stop = asyncio.Event()
    async with grpc.aio.insecure_channel(stack.targets["ingest"]) as channel:
        forwarder = Forwarder(buffer, sink, ingest_pb2_grpc.IngestServiceStub(channel), credential, options)
        running = asyncio.create_task(forwarder.run(stop))
        for _ in range(200):
            status = buffer.status()
            if status.waiting + status.in_flight == 0:
                break
            await asyncio.sleep(0.05)
        stop.set()
        await running
    return forwarder


@pytest.fixture
async def tenant(stack, signer):
    return await create_tenant(stack.targets["tenancy"], signer, "Edge forwarder")


async def test_everything_written_to_the_buffer_is_stored_once(stack, tenant, admin_conn, tmp_path):
    buffer = Buffer(tmp_path / "buffer.db")
    sink = BufferSink(buffer)
    start = time.time_ns() - 3_600 * 10**9
    for chunk in range(20):
        await sink.write(
            [
                Reading(tenant.series_ids[i % 3], start + (chunk * 1_000 + i) * 10**6, float(i))
                for i in range(1_000)
            ]
        )
    forwarder = await forward_until_empty(stack, buffer, sink, tenant.credential)
    assert stored_points(admin_conn, tenant.id) == 20_000
    assert forwarder.session.stats.points_acked == 20_000
    assert buffer.status().batches == 0


async def test_batches_stored_before_their_ack_was_lost_are_not_stored_again(
    stack, tenant, admin_conn, tmp_path
):
    """RELIABILITY D1: The cloud committed two batches, the agent died before it heard: after a restart they
    come back as duplicates."""
    path = tmp_path / "buffer.db"
    buffer = Buffer(path)
    start = time.time_ns() - 600 * 10**9
    buffer.append([Reading(tenant.series_ids[0], start + i * 10**6, float(i)) for i in range(5_000)])
    committed = [buffer.cut(1_000, 0) for _ in range(2)]
    requests = []
    for batch in committed:
        series, blocks = batch_parts(batch.columns, compress=True)
        requests.append(
            ingest_pb2.IngestRequest(
                batch_no=batch.batch_no, blocks=blocks, series=series, session_id=buffer.session_id
            )
        )
    await send_batches(stack.targets["ingest"], tenant.credential, requests)
    buffer.close()

    reopened = Buffer(path)
    forwarder = await forward_until_empty(stack, reopened, BufferSink(reopened), tenant.credential)
    assert stored_points(admin_conn, tenant.id) == 5_000
    assert forwarder.session.stats.batches_duplicate == 2
    assert forwarder.session.stats.points_acked == 3_000


async def test_a_backlog_drains_no_faster_than_the_backfill_pace(stack, tenant, admin_conn, tmp_path, caplog):
    """RELIABILITY D4: a plant not measured yet drains at the floor, ``drain_min_points_per_s``."""
    caplog.set_level(logging.INFO, logger="sfclient.pacing")
    buffer = Buffer(tmp_path / "buffer.db")
    sink = BufferSink(buffer)
    start = time.time_ns() - 3_600 * 10**9
    await sink.write([Reading(tenant.series_ids[0], start + i * 10**6, float(i)) for i in range(10_000)])
    options = dataclasses.replace(OPTIONS, drain_min_points_per_s=5_000)
    began = time.monotonic()
    forwarder = await forward_until_empty(stack, buffer, sink, tenant.credential, options)
    assert stored_points(admin_conn, tenant.id) == 10_000
    assert time.monotonic() - began >= (10_000 - OPTIONS.batch_points) / 5_000
    assert forwarder.session.stats.points_acked_backfill == 10_000
    assert [r.points_per_s for r in caplog.records if "backfill paced" in r.message] == [5_000]
