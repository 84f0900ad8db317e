"""The SDK's Device against the real ingest service: what it records is stored once, refusals surface."""

from __future__ import annotations

import asyncio
import time

import pytest

from sfclient import Device, DeviceOptions, DeviceRejected, SessionPolicy
from tests.e2e.provision import create_tenant
from tests.faults.proxy import FaultProxy

FAST = SessionPolicy(ack_timeout_s=5, backoff_initial_s=0.05, backoff_max_s=0.2)


def stored(admin_conn, tenant_id) -> list[tuple[str, int, int]]:
    """(series, count, payload length) of every stored block of the tenant."""
    return admin_conn.execute(
        "SELECT series_id::text, count, octet_length(payload_chunks) + octet_length(payload_rest)"
        " FROM telemetry.blocks WHERE tenant_id = %s",
        [tenant_id],
    ).fetchall()


@pytest.mark.parametrize("compress", [True, False], ids=["blocks", "plain"])
async def test_recorded_samples_are_stored_once(stack, signer, admin_conn, compress):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "SDK device")
    start = time.time_ns() - 10**12
    options = DeviceOptions(secure=False, max_batch_points=2_000, compress=compress, policy=FAST)
    async with Device(stack.targets["ingest"], tenant.credential, options) as device:
        for i in range(5_000):
            for n, series_id in enumerate(tenant.series_ids):
                device.record(series_id, start + i * 10**9, float(i * n))
        await device.flush()
        assert device.stats.points_acked == 15_000
        assert device.stats.batches_duplicate == 0
    blocks = stored(admin_conn, tenant.id)
    assert sum(count for _, count, _ in blocks) == 15_000
    assert {series for series, _, _ in blocks} == set(tenant.series_ids)


async def test_blocks_cost_a_fraction_of_plain_points(stack, signer):
    """What the SDK puts on the wire with compression, beside the same samples as plain points."""
    tenant = await create_tenant(stack.targets["tenancy"], signer, "SDK wire size")
    start = time.time_ns() - 10**12
    sent = {}
    for compress in (True, False):
        options = DeviceOptions(secure=False, compress=compress, max_batch_points=10_000, policy=FAST)
        async with Device(stack.targets["ingest"], tenant.credential, options) as device:
            offset = 0 if compress else 1  # other timestamps, so the second run stores rather than conflicts
            temperatures = [20.0 + (i % 50) / 10 for i in range(10_000)]
            device.record_many(
                tenant.series_ids[0], [start + (2 * i + offset) * 10**9 for i in range(10_000)], temperatures
            )
            await device.flush()
            sent[compress] = device.stats.bytes_sent
    assert sent[True] * 4 < sent[False]


async def test_an_unknown_credential_is_refused_on_flush(stack):
    options = DeviceOptions(secure=False, policy=FAST)
    async with Device(stack.targets["ingest"], "sfd_AAAAAAAAAAAA_" + "B" * 32, options) as device:
        device.record("8f6a1f8e-2a4e-4a43-9b52-3f8d6a8c1a11", time.time_ns(), 1.0)
        with pytest.raises(DeviceRejected, match="UNAUTHENTICATED"):
            await device.flush()


async def test_mismatched_columns_are_refused_before_anything_is_sent(stack, signer):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "SDK mismatch")
    async with Device(stack.targets["ingest"], tenant.credential, DeviceOptions(secure=False)) as device:
        with pytest.raises(ValueError, match="as many timestamps as values"):
            device.record_many(tenant.series_ids[0], [1, 2, 3], [1.0])
        await device.flush()
        assert device.stats.batches_sent == 0


async def test_a_live_batch_held_back_by_an_outage_is_resent_on_the_backfill_lane(stack, signer):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "SDK outage lane")
    host, port = stack.targets["ingest"].rsplit(":", 1)
    async with FaultProxy(host, int(port)) as proxy:
        policy = SessionPolicy(ack_timeout_s=0.5, backoff_initial_s=0.05, backoff_max_s=0.2, live_window_s=1)
        options = DeviceOptions(secure=False, batch_interval_s=0.1, policy=policy)
        async with Device(proxy.target, tenant.credential, options) as device:
            proxy.blackhole()
            device.record(tenant.series_ids[0], time.time_ns(), 1.0)
            await asyncio.sleep(
                2.5
            )  # sent at the next tick, it cannot get through and grows older than the window
            proxy.restore()
            await device.flush()
            assert (device.stats.points_acked, device.stats.points_acked_backfill) == (1, 1)
