"""The compaction queue end to end: ingest announces hours, any number of workers share the jobs through the
consumer group, a busy series is retried by whoever claims it, and nothing stays pending."""

from __future__ import annotations

import asyncio
import time
import uuid

from services.runtime.compaction import DUE_KEY, GROUP, JOBS_KEY, Job
from services.worker.jobs import CompactionRunner, JobQueue
from services.worker.service import CompactionService, Outcome
from tests.worker.conftest import block_counts, closed_hour, day_totals, hour_points, send_in_batches


async def drain(redis_client, runners: list[CompactionRunner], within: float = 30.0) -> None:
    """Run every worker until no hour is due, queued or pending."""

    async def work(runner: CompactionRunner) -> None:
        while True:
            await runner.run_once(block=False)
            pending = (await redis_client.xpending(JOBS_KEY, GROUP))["pending"]
            if (
                pending == 0
                and await redis_client.zcard(DUE_KEY) == 0
                and await redis_client.xlen(JOBS_KEY) == 0
            ):
                return
            await asyncio.sleep(0.05)

    async with asyncio.timeout(within):
        await asyncio.gather(*(work(r) for r in runners))


class Counting:
    def __init__(self, inner: CompactionService) -> None:
        self.inner = inner
        self.outcomes = []

    async def compact(self, job):
        outcome = await self.inner.compact(job)
        self.outcomes.append((job, outcome))
        return outcome


async def test_two_workers_share_the_jobs_and_leave_nothing_pending(
    stack, tenant, worker_cells, admin_conn, empty_queue
):
    """RELIABILITY D6: Two workers share the Redis stream's jobs; the pending list is empty at the end."""
    hours = [closed_hour(h) for h in (12, 11, 10)]
    for seed, series in enumerate(tenant.series_ids):
        for hour in hours:
            timestamps, values = hour_points(hour, 400, seed * 10 + hour % 7)
            await send_in_batches(stack, tenant, series, timestamps, values, per_batch=20)
    before = day_totals(admin_conn, tenant.id)
    assert await empty_queue.zcard(DUE_KEY) == 9

    workers = [Counting(CompactionService(worker_cells, target_points=256)) for _ in range(2)]
    runners = [
        CompactionRunner(JobQueue(empty_queue, name, claim_idle_s=0.3, poll_s=0.05, count=2), worker)
        for name, worker in zip(("a", "b"), workers, strict=True)
    ]
    await drain(empty_queue, runners)

    assert all(w.outcomes for w in workers), "both workers took jobs"
    done = [(job.member, o) for w in workers for job, o in w.outcomes if o.merged]
    assert sorted(m for m, _ in done) == sorted({m for m, _ in done}) and len(done) == 9  # each hour once
    for series in tenant.series_ids:
        assert block_counts(admin_conn, series) == [256, 144] * 3
    assert day_totals(admin_conn, tenant.id) == before


async def test_a_busy_series_is_retried_after_the_claim_timeout(
    stack, tenant, worker_cells, admin_conn, empty_queue
):
    """RELIABILITY D6: A job left pending is claimed again after the idle timeout."""
    series, hour = tenant.series_ids[0], closed_hour(13)
    timestamps, values = hour_points(hour, 100, 5)
    await send_in_batches(stack, tenant, series, timestamps, values, per_batch=10)
    worker = Counting(CompactionService(worker_cells, target_points=256))
    queue = JobQueue(empty_queue, "solo", claim_idle_s=0.3, poll_s=0.05)
    await queue.ensure_group()
    runner = CompactionRunner(queue, worker)
    async with worker_cells.tenant(tenant.id, "") as conn:  # a writer of the series holds its lock
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s::uuid::text, 0))", [series])
        assert await runner.run_once(block=False) == 0
        assert (await empty_queue.xpending(JOBS_KEY, GROUP))["pending"] == 1
    started = time.monotonic()
    await drain(empty_queue, [runner])
    assert time.monotonic() - started >= 0.2  # taken over only once idle long enough
    assert [o.busy for _, o in worker.outcomes] == [True, False]
    assert block_counts(admin_conn, series) == [100]


class Slow:
    """A compactor whose every job takes ``seconds`` (a fast series' hour takes a minute or more)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.members: list[str] = []

    async def compact(self, job):
        self.members.append(job.member)
        await asyncio.sleep(self.seconds)
        return Outcome()


async def test_jobs_running_past_the_claim_timeout_are_not_taken_over(empty_queue):
    """A worker re-claims the jobs it holds while it works on them: another worker takes over only the jobs
    of one that stopped renewing (died), so a long hour is not compacted twice at once."""
    members = [Job("", uuid.uuid4(), uuid.uuid4(), 480_000 + n).member for n in range(2)]
    await JobQueue(empty_queue, "a", claim_idle_s=0.3).ensure_group()
    for member in members:
        await empty_queue.xadd(JOBS_KEY, {"job": member})
    busy, idle = Slow(0.8), Slow(0)
    holder = CompactionRunner(JobQueue(empty_queue, "a", claim_idle_s=0.3, poll_s=0.05, count=2), busy)
    other = CompactionRunner(JobQueue(empty_queue, "b", claim_idle_s=0.3, poll_s=0.05), idle)
    holding = asyncio.create_task(holder.run_once(block=False))  # 1.6 s for both: 5 claim timeouts
    await asyncio.sleep(0.1)  # the holder has taken both
    while not holding.done():
        await other.run_once(block=False)
        await asyncio.sleep(0.05)
    assert await holding == 2 and busy.members == members
    assert idle.members == []
    assert (await empty_queue.xpending(JOBS_KEY, GROUP))["pending"] == 0


async def test_a_malformed_job_is_acknowledged_and_dropped(worker_cells, empty_queue):
    runner = CompactionRunner(
        JobQueue(empty_queue, "solo", claim_idle_s=1, poll_s=0.05), CompactionService(worker_cells)
    )
    await JobQueue(empty_queue, "solo", claim_idle_s=1).ensure_group()
    await empty_queue.xadd(JOBS_KEY, {"job": "not|a|job"})
    assert await runner.run_once(block=False) == 1
    assert (await empty_queue.xpending(JOBS_KEY, GROUP))["pending"] == 0
