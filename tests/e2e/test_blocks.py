"""Devices may send compressed blocks (tscodec) instead of plain points: checked, stored, read back exactly."""

from __future__ import annotations

import time

import grpc
import numpy as np
import pytest

import tscodec
from services.runtime.blocks import BLOCK_SPAN_NS
from sfcloud.v1 import common_pb2, ingest_pb2, query_pb2, query_pb2_grpc
from tests.e2e.provision import create_tenant, send_batches
from tests.e2e.test_bad_input import stored_points
from tests.isolation.test_rls import _as

NOW = time.time_ns()
DAY_NS = 86_400 * 10**9
RECENT = common_pb2.TimeRange(
    start_ns=NOW - 7 * DAY_NS, end_ns=NOW + DAY_NS
)  # the tests' points, in the raw window


def block_batch(series_id: str, payload: bytes, batch_no: int = 1) -> ingest_pb2.IngestRequest:
    return ingest_pb2.IngestRequest(
        batch_no=batch_no, blocks=[ingest_pb2.SeriesBlock(series_id=series_id, payload=payload)]
    )


async def read(stack, signer, tenant, series_id: str) -> tuple[np.ndarray, np.ndarray]:
    async with grpc.aio.insecure_channel(stack.targets["analytics"]) as channel:
        response = await query_pb2_grpc.QueryServiceStub(channel).ReadPoints(
            query_pb2.ReadPointsRequest(series_id=series_id, range=RECENT, limit=100_000),
            metadata=_as(signer, tenant.id),
            timeout=10,
        )
    return np.array(response.timestamps_ns, dtype=np.int64), np.array(response.values)


async def test_a_block_is_stored_as_sent_and_read_back_exactly(stack, signer, admin_conn):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Blocks")
    hour = (NOW // BLOCK_SPAN_NS - 1) * BLOCK_SPAN_NS  # a block within one UTC hour is kept as sent
    timestamps = hour + np.arange(3_000, dtype=np.int64) * 10**9
    values = np.round(np.sin(np.arange(3_000) / 50) * 10 + 20, 3)
    payload = tscodec.encode(timestamps, values)
    acks = await send_batches(
        stack.targets["ingest"], tenant.credential, [block_batch(tenant.series_ids[0], payload)]
    )
    assert acks[0].points_stored == 3_000
    stored = admin_conn.execute(
        "SELECT payload_chunks || payload_rest FROM telemetry.blocks WHERE series_id = %s",
        [tenant.series_ids[0]],
    ).fetchall()
    assert [bytes(row[0]) for row in stored] == [payload]
    got_t, got_v = await read(stack, signer, tenant, tenant.series_ids[0])
    assert np.array_equal(got_t, timestamps) and np.array_equal(got_v, values)


async def test_an_unordered_block_and_plain_points_merge_in_time_order(stack, signer):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Blocks merge")
    timestamps = np.array([NOW - 3 * 10**9, NOW - 5 * 10**9, NOW - 4 * 10**9], dtype=np.int64)
    request = block_batch(tenant.series_ids[0], tscodec.encode(timestamps, np.array([3.0, 5.0, 4.0])))
    request.series.append(
        ingest_pb2.SeriesPoints(series_id=tenant.series_ids[0], timestamps_ns=[NOW - 10**9], values=[1.0])
    )
    await send_batches(stack.targets["ingest"], tenant.credential, [request])
    got_t, got_v = await read(stack, signer, tenant, tenant.series_ids[0])
    assert got_v.tolist() == [5.0, 4.0, 3.0, 1.0] and bool(np.all(np.diff(got_t) > 0))


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda b: b[:-3], "not a valid tscodec block"),
        (lambda b: b"XXXX" + b[4:], "not a valid tscodec block"),
        (lambda b: b[:40] + bytes([b[40] ^ 0xFF]) + b[41:], "not a valid tscodec block"),
    ],
)
async def test_a_corrupt_block_is_refused_and_nothing_stored(stack, signer, admin_conn, mangle, message):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Blocks bad")
    good = tscodec.encode(NOW - np.arange(100, 0, -1, dtype=np.int64) * 10**9, np.arange(100.0))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await send_batches(
            stack.targets["ingest"], tenant.credential, [block_batch(tenant.series_ids[0], mangle(good))]
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details().startswith("blocks[0].payload") and message in caught.value.details()
    assert stored_points(admin_conn, tenant.id) == 0


async def test_a_block_outside_the_time_window_is_refused(stack, signer):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Blocks window")
    payload = tscodec.encode(np.array([NOW, NOW + 3 * 86_400 * 10**9], dtype=np.int64), np.array([1.0, 2.0]))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await send_batches(
            stack.targets["ingest"], tenant.credential, [block_batch(tenant.series_ids[0], payload)]
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "blocks[0].timestamps_ns[1]" in caught.value.details()
