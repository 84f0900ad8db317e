"""Ingest's memory under overload (RELIABILITY D5): an ingest process of its own (`sf serve ingest`, the
default 64 MB in-flight budget) offered far more than it can store keeps its resident memory below 512 MB,
refuses the excess with SERVER_BUSY, and stores exactly what it acknowledged.

Devices each keep a 100,000-point batch in flight at all times (about 8 MB of budget each: 8 fit in the
budget) and resend a refused batch after 50 ms, sooner than the RetryInfo asks:
the offer is bounded only by how fast this process can send. 24 devices for 5 s in `make test`; 48 for 60 s
in `make test-long`. The peak is the kernel's own high-water mark of the process's resident set (`VmHWM`),
so no sample can miss it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import grpc
import numpy as np
import pytest

from sf.inprocess import free_port
from sfcloud.v1 import ingest_pb2
from tests.e2e.provision import create_tenant, device_metadata
from tests.e2e.test_bad_input import reason_of, stored_points
from tests.faults.processes import ServiceProcess, ingest_env, tenancy_env

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path("/proc/self/status").exists(), reason="reads the peak resident set from Linux's /proc"
    ),
]

POINTS = 100_000  # a batch: about 1.7 MB on the wire, 8 MB of in-flight budget
RSS_LIMIT_MB = 512
RESEND_AFTER_S = 0.05
# An enterprise plan takes 1,000,000 points/s a tenant; ingest stores up to ~9 M points/s on a quiet
# 2-core machine, so the devices are spread over tenants whose quotas add up past what the process can
# store: the process's budget refuses them (SERVER_BUSY), not a plan's rate (RATE_LIMITED).
DEVICES_PER_TENANT = 4
METHOD = "/sfcloud.v1.IngestService/Ingest"
VALUES = np.sin(np.arange(POINTS) / 50.0).tolist()


@dataclass
class Tally:
    acknowledged: int = 0  # points
    refused: int = 0  # batches


def batch_bytes(session: str, series_id: str, batch_no: int, base_ns: int) -> bytes:
    timestamps = base_ns + (batch_no * POINTS + np.arange(POINTS, dtype=np.int64)) * 10**6
    series = ingest_pb2.SeriesPoints(series_id=series_id, timestamps_ns=timestamps.tolist(), values=VALUES)
    return ingest_pb2.IngestRequest(
        session_id=session, batch_no=batch_no, series=[series]
    ).SerializeToString()


async def device(target: str, credential: str, series_id: str, until: float, tally: Tally) -> None:
    """Send batch after batch until ``until``; a refused batch is resent (same number) on a new stream."""
    session, base_ns = str(uuid.uuid4()), time.time_ns() - 30 * 86_400 * 10**9
    batch_no, pending = 0, None
    async with grpc.aio.insecure_channel(target) as channel:
        ingest = channel.stream_stream(METHOD, response_deserializer=ingest_pb2.IngestResponse.FromString)
        while time.monotonic() < until:
            call = ingest(metadata=device_metadata(credential), timeout=until - time.monotonic() + 30)
            try:
                while time.monotonic() < until:
                    if pending is None:
                        batch_no += 1
                        pending = batch_bytes(session, series_id, batch_no, base_ns)
                    await call.write(pending)
                    ack = await call.read()  # before the sum is read: other devices add to it meanwhile
                    tally.acknowledged += ack.points_stored
                    pending = None
                await call.done_writing()
            except grpc.aio.AioRpcError as refusal:
                assert refusal.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, refusal.details()
                assert reason_of(refusal) == "SERVER_BUSY"
                tally.refused += 1
                await asyncio.sleep(RESEND_AFTER_S)


def peak_rss_mb(pid: int) -> float:
    """The process's resident-set high-water mark since it started (Linux's VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc")


async def overload(stack, signer, admin_conn, tmp_path, devices: int, seconds: float) -> None:
    tenants = [
        await create_tenant(
            stack.targets["tenancy"],
            signer,
            f"Memory {n}",
            series_count=DEVICES_PER_TENANT,
            plan="enterprise",
        )
        for n in range(devices // DEVICES_PER_TENANT)
    ]
    # Tenancy in a process of its own: in this one, which the devices keep busy, it answered ingest's
    # device checks past their 10 s deadline (the batch refused UNAVAILABLE "Deadline Exceeded").
    async with (
        ServiceProcess("tenancy", tenancy_env(stack), free_port(), tmp_path) as tenancy,
        ServiceProcess(
            "ingest", ingest_env(stack) | {"SF_TENANCY_TARGET": tenancy.target}, free_port(), tmp_path
        ) as ingest,
    ):
        idle_mb = peak_rss_mb(ingest.pid)
        tally, began = Tally(), time.monotonic()
        devices = (
            device(ingest.target, tenant.credential, s, began + seconds, tally)
            for tenant in tenants
            for s in tenant.series_ids
        )
        await asyncio.gather(*devices)
        elapsed, peak_mb = time.monotonic() - began, peak_rss_mb(ingest.pid)
    stored = sum(stored_points(admin_conn, tenant.id) for tenant in tenants)
    print(
        f"D5 memory: peak RSS {peak_mb:.0f} MB (idle {idle_mb:.0f} MB); {stored / elapsed:,.0f} points/s stored,"
        f" {tally.refused} batches refused, {tally.acknowledged + tally.refused * POINTS:,} points offered"
        f" in {elapsed:.1f} s"
    )
    assert tally.refused > 0, "the offer never reached the budget: not an overload"
    assert stored == tally.acknowledged
    assert peak_mb < RSS_LIMIT_MB


async def test_ingest_stays_below_512_mb_while_overloaded(stack, signer, admin_conn, tmp_path):
    """RELIABILITY D5: an ingest process overloaded by 24 devices for 5 s: peak RSS < 512 MB, excess refused,
    acknowledged == stored."""
    await overload(stack, signer, admin_conn, tmp_path, devices=24, seconds=5)


@pytest.mark.long
@pytest.mark.timeout(300)
async def test_ingest_stays_below_512_mb_while_overloaded_for_a_minute(stack, signer, admin_conn, tmp_path):
    """RELIABILITY D5: the same with 48 devices for 60 s."""
    await overload(stack, signer, admin_conn, tmp_path, devices=48, seconds=60)
