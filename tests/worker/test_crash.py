"""Compaction killed at any moment keeps every (tenant, series, day) count and sum, and another worker
takes over what the dead one had in hand (RELIABILITY D6 and D8 for the worker)."""

from __future__ import annotations

import asyncio
import random
import signal
import sys
from contextlib import asynccontextmanager

from services.runtime.compaction import GROUP, JOBS_KEY
from services.runtime.settings import role_url
from services.worker.jobs import CompactionRunner, JobQueue
from services.worker.service import CompactionService
from sf.inprocess import free_port
from tests.faults.processes import REPO, child_environment
from tests.worker.conftest import (
    block_counts,
    closed_hour,
    day_totals,
    hour_points,
    job,
    send_in_batches,
    stored_points,
)
from tests.worker.test_queue import drain


class Dawdling:
    """Cell transactions whose every statement takes a few random milliseconds, so a cancellation can
    land before, inside or after any of them."""

    def __init__(self, cells, rng: random.Random) -> None:
        self._cells = cells
        self._rng = rng

    @asynccontextmanager
    async def tenant(self, tenant_id, cell):
        async with self._cells.tenant(tenant_id, cell) as conn:
            yield _DawdlingConnection(conn, self._rng)


class _DawdlingConnection:
    def __init__(self, conn, rng: random.Random) -> None:
        self._conn = conn
        self._rng = rng

    async def execute(self, *args, **kwargs):
        await asyncio.sleep(self._rng.uniform(0, 0.004))
        result = await self._conn.execute(*args, **kwargs)
        await asyncio.sleep(self._rng.uniform(0, 0.004))
        return result


async def seed_hours(stack, tenant, hours: list[int], blocks: int = 8, points: int = 400) -> None:
    for i, hour in enumerate(hours):
        timestamps, values = hour_points(hour, points, i)
        for series in tenant.series_ids[:2]:
            await send_in_batches(stack, tenant, series, timestamps, values, per_batch=points // blocks)


def snapshot(admin_conn, tenant) -> tuple:
    points = [stored_points(admin_conn, s) for s in tenant.series_ids[:2]]
    return day_totals(admin_conn, tenant.id), [(t.tobytes(), v.tobytes()) for t, v in points]


async def test_compaction_cancelled_anywhere_inside_its_transaction_changes_nothing(
    stack, tenant, worker_cells, admin_conn
):
    """RELIABILITY D8: Compaction cancelled anywhere in its transaction: counts and sums unchanged."""
    rng = random.Random(6)
    hours = [closed_hour(h) for h in range(40, 20, -1)]
    await seed_hours(stack, tenant, hours)
    before = snapshot(admin_conn, tenant)
    dawdling = CompactionService(Dawdling(worker_cells, rng), target_points=256)
    cut = finished = 0
    window = 0.03  # cancel within this many seconds; it adapts, so a slow machine still sees both ends
    for hour in hours:
        for series in tenant.series_ids[:2]:
            task = asyncio.ensure_future(dawdling.compact(job(tenant, series, hour)))
            await asyncio.sleep(rng.uniform(0, window))
            task.cancel()
            result = (await asyncio.gather(task, return_exceptions=True))[0]
            cut += isinstance(result, asyncio.CancelledError)
            finished += not isinstance(result, BaseException)
            window *= 1.2 if isinstance(result, asyncio.CancelledError) else 0.9
            assert len(block_counts(admin_conn, series)) in range(2 * len(hours), 9 * len(hours))
            assert snapshot(admin_conn, tenant) == before
    assert cut >= 10 and finished >= 1, (cut, finished)
    worker = CompactionService(worker_cells, target_points=256)
    for hour in hours:
        for series in tenant.series_ids[:2]:
            await worker.compact(job(tenant, series, hour))
    assert all(block_counts(admin_conn, s) == [256, 144] * len(hours) for s in tenant.series_ids[:2])
    assert snapshot(admin_conn, tenant) == before


async def start_worker_process(admin_url, redis_url, signing_key) -> asyncio.subprocess.Process:
    """`sf serve worker` from this checkout (``python -m sf`` in the repository, not the installed script)."""
    env = child_environment(
        {
            "SF_DATABASE_URL": admin_url,
            "SF_WORKER_DATABASE_URL": role_url(admin_url, "sf_worker", None),
            "SF_REDIS_URL": redis_url,
            "SF_SIGNING_KEY": signing_key,
            "SF_WORKER_LISTEN": f"127.0.0.1:{free_port()}",
            "SF_WORKER_CONSUMER": "doomed",
            "SF_WORKER_TARGET_POINTS": "256",
            "SF_RETENTION_INTERVAL_S": "0",  # this test is about compaction (retention: test_retention.py)
            "SF_LOG_LEVEL": "WARNING",
        }
    )
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sf", "serve", "worker", env=env, cwd=REPO, stdout=asyncio.subprocess.DEVNULL
    )


async def test_a_worker_killed_mid_run_loses_nothing_and_its_jobs_are_taken_over(
    stack, tenant, worker_cells, admin_conn, empty_queue, admin_url, redis_url, signing_key
):
    """RELIABILITY D6: A worker killed between read and ack: a peer claims its jobs, each applied once, nothing pending."""
    hours = [closed_hour(h) for h in range(90, 50, -1)]
    await seed_hours(stack, tenant, hours)
    before = snapshot(admin_conn, tenant)
    series = tenant.series_ids[0]
    victim = await start_worker_process(admin_url, redis_url, signing_key)
    try:
        async with asyncio.timeout(60):
            while len(block_counts(admin_conn, series)) == 8 * len(hours):  # until it has compacted something
                assert victim.returncode is None, "the worker process exited"
                await asyncio.sleep(0.005)
        await asyncio.sleep(random.uniform(0, 0.03))
    finally:
        victim.send_signal(signal.SIGKILL)
        await victim.wait()

    assert snapshot(admin_conn, tenant) == before
    pending = await empty_queue.xpending_range(JOBS_KEY, GROUP, "-", "+", 1000)
    assert pending and {p["consumer"] for p in pending} == {b"doomed"}

    heir = CompactionRunner(
        JobQueue(empty_queue, "heir", claim_idle_s=0.5, poll_s=0.05), CompactionService(worker_cells, 256)
    )
    await drain(empty_queue, [heir])
    for s in tenant.series_ids[:2]:
        assert block_counts(admin_conn, s) == [256, 144] * len(hours)
    assert snapshot(admin_conn, tenant) == before
