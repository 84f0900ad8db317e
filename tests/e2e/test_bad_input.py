"""Bad input gets a gRPC status naming the problem, and nothing of the batch is stored."""

from __future__ import annotations

import time
import uuid

import grpc
import numpy as np
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

import tscodec
from services.ingest.batches import MAX_POINTS
from services.runtime.grpc_server import MAX_MESSAGE_BYTES
from sfcloud.v1 import ingest_pb2, ingest_pb2_grpc
from tests.e2e.provision import create_tenant, device_metadata, send_batches

NOW_NS = time.time_ns()


@pytest.fixture(scope="module")
async def tenants(stack, signer):
    a = await create_tenant(stack.targets["tenancy"], signer, "Bad input A")
    b = await create_tenant(stack.targets["tenancy"], signer, "Bad input B")
    return a, b


def batch(
    series_id: str, timestamps: list[int], values: list[float], batch_no: int = 1
) -> ingest_pb2.IngestRequest:
    return ingest_pb2.IngestRequest(
        batch_no=batch_no,
        series=[ingest_pb2.SeriesPoints(series_id=series_id, timestamps_ns=timestamps, values=values)],
    )


def stored_points(admin_conn, tenant_id: uuid.UUID) -> int:
    row = admin_conn.execute(
        "SELECT coalesce(sum(count), 0) FROM telemetry.blocks WHERE tenant_id = %s", [tenant_id]
    )
    return row.fetchone()[0]


async def rejected(stack, credential: str, request: ingest_pb2.IngestRequest) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await send_batches(stack.targets["ingest"], credential, [request])
    return caught.value


def reason_of(error: grpc.aio.AioRpcError) -> str:
    info = error_details_pb2.ErrorInfo()
    next(d for d in rpc_status.from_call(error).details if d.Unpack(info))
    return info.reason


async def test_unknown_device_credential(stack, tenants, admin_conn):
    a, _ = tenants
    error = await rejected(stack, "sfd_AAAAAAAAAAAA_" + "B" * 32, batch(a.series_ids[0], [NOW_NS], [1.0]))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "unknown device credential" in error.details()
    assert reason_of(error) == "UNKNOWN_CREDENTIAL"


async def test_malformed_credential(stack, tenants):
    a, _ = tenants
    error = await rejected(stack, "not-a-credential", batch(a.series_ids[0], [NOW_NS], [1.0]))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "malformed" in error.details()


async def test_mismatched_lengths_are_malformed(stack, tenants, admin_conn):
    a, _ = tenants
    before = stored_points(admin_conn, a.id)
    error = await rejected(stack, a.credential, batch(a.series_ids[0], [NOW_NS, NOW_NS + 1], [1.0]))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "series[0]: 2 timestamps but 1 values" in error.details()
    assert reason_of(error) == "MALFORMED_BATCH"
    assert stored_points(admin_conn, a.id) == before


async def test_series_id_that_is_not_a_uuid(stack, tenants):
    a, _ = tenants
    error = await rejected(stack, a.credential, batch("spindle_temp", [NOW_NS], [1.0]))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "series[0].series_id" in error.details()


@pytest.mark.parametrize(
    "bad_ts", [-1, 2**63 - 1, NOW_NS + 2 * 86_400 * 10**9], ids=["negative", "int64-max", "two-days-ahead"]
)
async def test_timestamp_outside_the_window(stack, tenants, admin_conn, bad_ts):
    a, _ = tenants
    before = stored_points(admin_conn, a.id)
    request = ingest_pb2.IngestRequest(
        batch_no=1,
        series=[
            ingest_pb2.SeriesPoints(series_id=a.series_ids[0], timestamps_ns=[NOW_NS], values=[1.0]),
            ingest_pb2.SeriesPoints(
                series_id=a.series_ids[1], timestamps_ns=[NOW_NS, bad_ts], values=[1.0, 2.0]
            ),
        ],
    )
    error = await rejected(stack, a.credential, request)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (
        "series[1].timestamps_ns[1]" in error.details() and "outside the accepted window" in error.details()
    )
    assert stored_points(admin_conn, a.id) == before  # the valid first series was not stored either


async def test_another_tenants_series_is_not_found(stack, tenants, admin_conn):
    a, b = tenants
    before_a, before_b = stored_points(admin_conn, a.id), stored_points(admin_conn, b.id)
    request = ingest_pb2.IngestRequest(
        batch_no=1,
        series=[
            ingest_pb2.SeriesPoints(series_id=a.series_ids[0], timestamps_ns=[NOW_NS], values=[1.0]),
            ingest_pb2.SeriesPoints(series_id=b.series_ids[0], timestamps_ns=[NOW_NS], values=[2.0]),
        ],
    )
    error = await rejected(stack, a.credential, request)
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert f"series {b.series_ids[0]} not found" in error.details()
    assert (stored_points(admin_conn, a.id), stored_points(admin_conn, b.id)) == (before_a, before_b)


async def test_valid_batches_before_a_bad_one_stay_acknowledged(stack, tenants, admin_conn):
    a, _ = tenants
    before = stored_points(admin_conn, a.id)
    good = batch(a.series_ids[2], [NOW_NS - 10**9, NOW_NS], [3.0, 4.0], batch_no=7)
    bad = batch(a.series_ids[2], [NOW_NS], [], batch_no=8)
    acks = []
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async with grpc.aio.insecure_channel(stack.targets["ingest"]) as channel:
            call = ingest_pb2_grpc.IngestServiceStub(channel).Ingest(
                iter([good, bad]), metadata=device_metadata(a.credential), timeout=30
            )
            async for ack in call:
                acks.append(ack)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [(x.batch_no, x.points_stored) for x in acks] == [(7, 2)]
    assert stored_points(admin_conn, a.id) == before + 2


async def test_a_block_over_the_points_limit_is_refused_before_decoding(stack, tenants, admin_conn):
    """RELIABILITY R1: A block declaring more points than allowed is refused before it is decoded."""
    a, _ = tenants
    before = stored_points(admin_conn, a.id)
    count = MAX_POINTS + 1
    payload = tscodec.encode(np.arange(count, dtype=np.int64) + NOW_NS - 10**13, np.zeros(count))
    request = ingest_pb2.IngestRequest(
        batch_no=1, blocks=[ingest_pb2.SeriesBlock(series_id=a.series_ids[0], payload=payload)]
    )
    error = await rejected(stack, a.credential, request)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"at most {MAX_POINTS} points per batch" in error.details()
    assert stored_points(admin_conn, a.id) == before


async def test_a_message_over_the_size_limit_is_refused_whole(stack, tenants, admin_conn):
    """RELIABILITY R1: Plain points past the 16 MiB message limit: gRPC itself refuses the message, and names both sizes."""
    a, _ = tenants
    before = stored_points(admin_conn, a.id)
    count = MAX_MESSAGE_BYTES // 16 + 1
    timestamps = (np.arange(count, dtype=np.int64) + NOW_NS - 10**13).tolist()
    request = batch(a.series_ids[0], timestamps, [1.5] * count)
    assert request.ByteSize() > MAX_MESSAGE_BYTES
    error = await rejected(stack, a.credential, request)
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "larger than max" in error.details()
    assert stored_points(admin_conn, a.id) == before


async def test_bytes_that_are_no_ingest_request_are_malformed(stack, tenants, admin_conn):
    """The handler parses each batch itself (services/runtime/registration.py): bytes that do not parse
    are refused as MALFORMED_BATCH, naming the message, and nothing is stored."""
    a, _ = tenants
    before = stored_points(admin_conn, a.id)
    async with grpc.aio.insecure_channel(stack.targets["ingest"]) as channel:
        ingest = channel.stream_stream("/sfcloud.v1.IngestService/Ingest")  # bytes sent as they are
        call = ingest(iter([b"\x0a\xff\xff\xff\xff\x0f"]), metadata=device_metadata(a.credential), timeout=10)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            [ack async for ack in call]
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "not an IngestRequest" in caught.value.details()
    assert reason_of(caught.value) == "MALFORMED_BATCH"
    assert stored_points(admin_conn, a.id) == before
