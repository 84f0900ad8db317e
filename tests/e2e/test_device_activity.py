"""Gaps and late data are visible: per device, when it last sent, its newest point, what came late,
what was refused and why."""

from __future__ import annotations

import time

import grpc
import pytest

from tests.e2e.provision import GraphQLClient, create_tenant, send_batches
from tests.e2e.test_bad_input import batch

DEVICES = (
    "{ devices { name lastBatchAt lastPointAt latePoints refusedBatches lastRefusal { reason message } } }"
)


async def test_a_device_shows_its_last_data_late_points_and_refusals(stack, signer):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Activity")
    now = time.time_ns()
    await send_batches(
        stack.targets["ingest"], tenant.credential, [batch(tenant.series_ids[0], [now], [1.0])]
    )
    two_hours_ago = now - 2 * 3600 * 10**9
    await send_batches(
        stack.targets["ingest"], tenant.credential, [batch(tenant.series_ids[1], [two_hours_ago], [2.0])]
    )
    with pytest.raises(grpc.aio.AioRpcError):
        await send_batches(
            stack.targets["ingest"], tenant.credential, [batch(tenant.series_ids[0], [now, now + 1], [3.0])]
        )
    client = await GraphQLClient.login(stack.gateway_url, tenant.owner_email, tenant.owner_password)
    try:
        devices = (await client.query(DEVICES))["data"]["devices"]
    finally:
        await client.close()
    assert len(devices) == 1
    device = devices[0]
    assert (
        device["name"] == "edge-1"
        and device["lastBatchAt"]
        and device["lastPointAt"].startswith(time.strftime("%Y-%m-%d", time.gmtime(now / 1e9)))
    )
    assert (device["latePoints"], device["refusedBatches"]) == (1, 1)
    assert device["lastRefusal"]["reason"] == "MALFORMED_BATCH"
    assert "2 timestamps but 1 values" in device["lastRefusal"]["message"]
