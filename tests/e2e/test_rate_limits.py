"""The plan's points per second: a minute's burst passes, beyond it a batch is refused whole with
RESOURCE_EXHAUSTED and how long to wait, and nothing of it is stored."""

from __future__ import annotations

import time

import grpc
import numpy as np
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from sfcloud.v1 import ingest_pb2
from tests.e2e.provision import create_tenant, send_batches
from tests.e2e.test_bad_input import stored_points

BATCH = 40_000  # the starter plan allows 2,000 points/s: a bucket of 120,000


def big_batch(series_id: str, batch_no: int) -> ingest_pb2.IngestRequest:
    base = time.time_ns() - 10**15 + batch_no * BATCH * 10**6
    return ingest_pb2.IngestRequest(
        batch_no=batch_no,
        series=[
            ingest_pb2.SeriesPoints(
                series_id=series_id,
                timestamps_ns=(base + np.arange(BATCH) * 10**6).tolist(),
                values=[1.0] * BATCH,
            )
        ],
    )


async def test_over_the_plan_rate_a_batch_is_refused_with_the_wait(stack, signer, admin_conn):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Rate", series_count=1, plan="starter")
    acks = []
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        for n in range(1, 5):
            acks += await send_batches(
                stack.targets["ingest"], tenant.credential, [big_batch(tenant.series_ids[0], n)]
            )
    error = caught.value
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "over the plan's 2,000 points/s (live lane); retry in" in error.details()
    retry = error_details_pb2.RetryInfo()
    assert any(d.Unpack(retry) for d in rpc_status.from_call(error).details)
    assert 0 < retry.retry_delay.ToMilliseconds() <= 60_000
    assert len(acks) == 3 and stored_points(admin_conn, tenant.id) == 3 * BATCH


async def test_the_backfill_lane_has_its_own_quota(stack, signer, admin_conn):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Backfill", series_count=1, plan="starter")
    for n in range(1, 4):  # the live bucket is spent
        await send_batches(stack.targets["ingest"], tenant.credential, [big_batch(tenant.series_ids[0], n)])
    backlog = big_batch(tenant.series_ids[0], 4)
    backlog.lane = ingest_pb2.LANE_BACKFILL
    acks = await send_batches(stack.targets["ingest"], tenant.credential, [backlog])
    assert acks[0].points_stored == BATCH
    assert stored_points(admin_conn, tenant.id) == 4 * BATCH
