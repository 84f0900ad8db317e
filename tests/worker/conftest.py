"""Fixtures of the worker tests: the worker's own pool (role sf_worker), data sent through ingest, the
per-(tenant, series, day) totals compaction must keep, and tenancy as retention uses it."""

from __future__ import annotations

import shutil
import time
import uuid

import grpc
import numpy as np
import pytest
import redis.asyncio as aioredis

import tscodec
from services.runtime.cells import CellDatabases
from services.runtime.channels import CallerIdentity
from services.runtime.compaction import DUE_KEY, HOUR_NS, JOBS_KEY, Job
from services.runtime.db import Database
from services.runtime.settings import DEFAULT_CELL, role_url
from services.tenancy.catalog import load_plans
from services.worker.directory import TenancyDirectory
from services.worker.notices import TenancyNotifier
from services.worker.service import CompactionService
from sf.embedded import EmbeddedRedis
from sfcloud.v1 import ingest_pb2, tenancy_pb2_grpc
from tests.e2e.provision import create_tenant, send_batches

DAY_NS = 24 * HOUR_NS


def closed_hour(hours_ago: int) -> int:
    """An hour that ended well before the grace period."""
    return time.time_ns() // HOUR_NS - hours_ago


def batch(
    series_id: str, timestamps: np.ndarray, values: np.ndarray, batch_no: int
) -> ingest_pb2.IngestRequest:
    return ingest_pb2.IngestRequest(
        batch_no=batch_no,
        series=[
            ingest_pb2.SeriesPoints(
                series_id=series_id, timestamps_ns=timestamps.tolist(), values=values.tolist()
            )
        ],
    )


def hour_points(hour: int, n: int, seed: int, step_ns: int = 10**9) -> tuple[np.ndarray, np.ndarray]:
    """n points inside the hour; values are multiples of 1/4, so any summation order gives the same sum."""
    rng = np.random.default_rng(seed)
    timestamps = hour * HOUR_NS + np.arange(n, dtype=np.int64) * step_ns + 17
    return timestamps, rng.integers(-4000, 4000, n) / 4


async def send_in_batches(stack, tenant, series_id: str, timestamps, values, per_batch: int) -> None:
    """One batch (so one block) per ``per_batch`` points, on one session."""
    batches = [
        batch(series_id, timestamps[i : i + per_batch], values[i : i + per_batch], 1 + i // per_batch)
        for i in range(0, timestamps.size, per_batch)
    ]
    acks = await send_batches(stack.targets["ingest"], tenant.credential, batches)
    assert sum(a.points_stored for a in acks) == timestamps.size


def day_totals(admin_conn, tenant_id: uuid.UUID) -> dict:
    """(series, day) → (points, sum) from the block statistics, and the same from the decoded points."""
    rows = admin_conn.execute(
        "SELECT series_id, start_ns / %s AS day, sum(count), sum(sum_value) FROM telemetry.blocks"
        " WHERE tenant_id = %s GROUP BY 1, 2",
        [DAY_NS, tenant_id],
    ).fetchall()
    decoded: dict = {}
    for series_id, payload in admin_conn.execute(
        "SELECT series_id, payload_chunks || payload_rest FROM telemetry.blocks WHERE tenant_id = %s",
        [tenant_id],
    ):
        timestamps, values = tscodec.decode(payload)
        for day in np.unique(timestamps // DAY_NS):
            mine = timestamps // DAY_NS == day
            count, total = decoded.get((series_id, int(day)), (0, 0.0))
            decoded[(series_id, int(day))] = (count + int(mine.sum()), total + float(values[mine].sum()))
    return {"stats": {(r[0], int(r[1])): (int(r[2]), r[3]) for r in rows}, "decoded": decoded}


def stored_points(admin_conn, series_id) -> tuple[np.ndarray, np.ndarray]:
    """Every stored point of the series in time order."""
    parts = [
        tscodec.decode(p)
        for (p,) in admin_conn.execute(
            "SELECT payload_chunks || payload_rest FROM telemetry.blocks WHERE series_id = %s", [series_id]
        )
    ]
    timestamps = np.concatenate([p[0] for p in parts])
    values = np.concatenate([p[1] for p in parts])
    order = np.argsort(timestamps, kind="stable")
    return timestamps[order], values[order]


def block_counts(admin_conn, series_id) -> list[int]:
    return [
        r[0]
        for r in admin_conn.execute(
            "SELECT count FROM telemetry.blocks WHERE series_id = %s ORDER BY start_ns", [series_id]
        )
    ]


def job(tenant, series_id: str, hour: int) -> Job:
    return Job(DEFAULT_CELL, tenant.id, uuid.UUID(series_id), hour)


@pytest.fixture
async def worker_cells(admin_url):
    db = Database(role_url(admin_url, "sf_worker", None), max_size=4)
    await db.open()
    yield CellDatabases(db, {}, "sf-worker-test")
    await db.close()


@pytest.fixture
def compactor(worker_cells) -> CompactionService:
    return CompactionService(worker_cells, target_points=256)


@pytest.fixture
async def redis_client(redis_url):
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def crashable(tmp_path):
    """A Redis of the test's own (a crash of the shared one would disturb every other test)."""
    server = EmbeddedRedis(tmp_path / "redis")
    server.start()
    client = aioredis.Redis.from_url(server.url)
    yield server, client
    await client.aclose()
    server.stop()


async def crash_and_restart(server: EmbeddedRedis, client: aioredis.Redis, wipe: bool = False) -> None:
    """kill -9 and a restart on its data, or with ``wipe`` on none (its files deleted: every key lost)."""
    server.kill()
    if wipe:
        shutil.rmtree(server.data_dir)
    server.start()
    await client.connection_pool.disconnect()  # its connections died with the server


@pytest.fixture
async def empty_queue(redis_client):
    """The compaction queue emptied (other tests' notices would otherwise be worked on too)."""
    await redis_client.delete(DUE_KEY, JOBS_KEY)
    yield redis_client
    await redis_client.delete(DUE_KEY, JOBS_KEY)


@pytest.fixture
async def tenant(stack, signer):
    return await create_tenant(stack.targets["tenancy"], signer, "Compaction", series_count=3)


@pytest.fixture
async def tenancy_stub(stack):
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
        yield tenancy_pb2_grpc.TenancyServiceStub(channel)


@pytest.fixture
def directory(tenancy_stub, signer) -> TenancyDirectory:
    """The tenants with their plans' retention, from tenancy over gRPC as the service `worker`."""
    days = {code: plan.quotas["retention_days"] for code, plan in load_plans().items()}
    return TenancyDirectory(tenancy_stub, CallerIdentity(signer), days)


@pytest.fixture
def notifier(tenancy_stub, signer) -> TenancyNotifier:
    """Retention notices mailed by the stack's tenancy (its mail goes to the log: no SMTP configured)."""
    return TenancyNotifier(tenancy_stub, CallerIdentity(signer))
