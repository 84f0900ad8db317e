"""Retention (docs/STORAGE.md, "Retention"; RELIABILITY D8): each tenant's blocks wholly older than its
plan allows are deleted and nothing else; per-(tenant, series, day) counts and sums of the kept data stay
identical, also when a pass is killed anywhere and run again; one worker at a time; row-level security
keeps one tenant's pass off another's rows; `sf storage maintain` drops whole weeks past the longest
retention of any plan."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
import uuid

import numpy as np
import pytest

from services.ingest import partitions
from services.runtime.blocks import INSERT, encode_block, insert_params
from services.runtime.compaction import HOUR_NS
from services.runtime.rollups import hour_of, summarise
from services.worker import retention_storage
from services.worker.directory import TenancyDirectory, TenantRetention
from services.worker.retention import DAY_NS, NOTICE_DAYS, RetentionService, cutoff_ns
from services.worker.schedule import RETENTION_LOCK, SpacedPasses
from services.worker.server import WorkerServer
from sf.maintain import longest_retention_days, maintain
from tests.analytics.helpers import write_rollup
from tests.e2e.provision import create_tenant
from tests.worker.test_crash import Dawdling

AGES_DAYS = (40, 31, 29, 1)
BLOCKS_PER_HOUR = 3


def now_ns() -> int:
    """Half past an hour, so the starter cutoff (30 days back) falls inside an hour, mid-block."""
    return (time.time_ns() // HOUR_NS) * HOUR_NS + HOUR_NS // 2


def write_blocks(admin_conn, tenant_id: uuid.UUID, series_id: str, hour_start: int, seed: int) -> None:
    """BLOCKS_PER_HOUR blocks inside the hour, written directly as the admin (values multiples of 1/4)."""
    rng = np.random.default_rng(seed)
    step = HOUR_NS // (BLOCKS_PER_HOUR * 100)
    for b in range(BLOCKS_PER_HOUR):
        timestamps = hour_start + (b * 100 + np.arange(100, dtype=np.int64)) * step + 11
        block = encode_block(uuid.UUID(series_id), timestamps, rng.integers(-4000, 4000, 100) / 4)
        admin_conn.execute(INSERT, insert_params(tenant_id, [block]))


def seed(admin_conn, tenant, now: int) -> None:
    """Blocks 40, 31, 29 and 1 days old, and the hour that holds the 30-day cutoff, for two series."""
    for i, series_id in enumerate(tenant.series_ids[:2]):
        for age in AGES_DAYS:
            hour = (now - age * DAY_NS) // HOUR_NS * HOUR_NS
            write_blocks(admin_conn, tenant.id, series_id, hour, seed=age * 10 + i)
        write_blocks(admin_conn, tenant.id, series_id, (now - 30 * DAY_NS) // HOUR_NS * HOUR_NS, seed=i)


def blocks(admin_conn, tenant_id: uuid.UUID) -> dict[int, tuple]:
    rows = admin_conn.execute(
        "SELECT id, series_id, start_ns, end_ns, count, sum_value FROM telemetry.blocks WHERE tenant_id = %s",
        [tenant_id],
    ).fetchall()
    return {r[0]: r[1:] for r in rows}


def day_totals(rows: dict[int, tuple]) -> dict:
    """(series, day) → (points, sum) of the given blocks."""
    totals: dict = {}
    for series_id, start_ns, _end, count, total in rows.values():
        points, s = totals.get((series_id, start_ns // DAY_NS), (0, 0.0))
        totals[(series_id, start_ns // DAY_NS)] = (points + count, s + total)
    return totals


class OnlyThese:
    """The real tenancy directory (ListTenants over gRPC as the service `worker`), narrowed to the tenants
    of one test: other tests' tenants share the database."""

    def __init__(self, directory: TenancyDirectory, tenant_ids: set[uuid.UUID]) -> None:
        self._directory = directory
        self._ids = tenant_ids

    async def tenants(self):
        return [t for t in await self._directory.tenants() if t.tenant_id in self._ids]


@pytest.fixture
async def starter(stack, signer):
    return await create_tenant(stack.targets["tenancy"], signer, "Retention starter", 2, plan="starter")


@pytest.fixture
async def pro(stack, signer):
    return await create_tenant(stack.targets["tenancy"], signer, "Retention pro", 2, plan="pro")


@pytest.fixture
async def seeded(starter, pro, admin_conn):
    now = now_ns()
    seed(admin_conn, starter, now)
    seed(admin_conn, pro, now)
    return now


def expect_kept(before: dict[int, tuple], cutoff: int) -> dict[int, tuple]:
    return {i: b for i, b in before.items() if b[2] >= cutoff}


async def announced_a_week_before(service: RetentionService, now: int) -> None:
    """A pass a week before ``now``: its announcement lets the pass at ``now`` delete what is past the
    plan (nothing is deleted without a week's notice)."""
    done = await service.run_pass(now - NOTICE_DAYS * DAY_NS)
    assert all(t.deleted == 0 and t.cutoff_ns is None for t in done)


async def test_the_tenancy_directory_lists_tenants_with_their_plans_retention(directory, starter, pro):
    listed = {t.tenant_id: t for t in await directory.tenants()}
    assert (listed[starter.id].plan_code, listed[starter.id].retention_days) == ("starter", 30)
    assert (listed[pro.id].plan_code, listed[pro.id].retention_days) == ("pro", 1095)
    assert listed[starter.id].cell == "default"


async def test_a_pass_deletes_exactly_the_blocks_wholly_past_the_plans_retention(
    worker_cells, directory, notifier, starter, pro, seeded, admin_conn
):
    """RELIABILITY D8: Retention deletes exactly the blocks past the plan; kept (tenant, series, day) counts and
    sums unchanged."""
    now = seeded
    cutoff = cutoff_ns(now, 30)
    before, pro_before = blocks(admin_conn, starter.id), blocks(admin_conn, pro.id)
    kept = expect_kept(before, cutoff)
    assert 0 < len(kept) < len(before)
    assert any(b[1] < cutoff <= b[2] for b in kept.values())  # a block across the cutoff stays whole

    hours = [hour_of(cutoff) - 3 * HOUR_NS, hour_of(cutoff), hour_of(now)]  # past, trimmed, kept
    for tenant, hour in [*((starter, h) for h in hours), (pro, hours[0])]:
        point = np.array([hour + 1], np.int64), np.array([1.0])
        write_rollup(admin_conn, tenant.id, uuid.UUID(tenant.series_ids[0]), summarise(hour, HOUR_NS, *point))

    newest = [cutoff - 1, now]  # the newest points of two series: one past retention
    for series, ts in zip(starter.series_ids, newest, strict=False):
        admin_conn.execute(
            "INSERT INTO telemetry.series_latest (tenant_id, series_id, ts_ns, value) VALUES (%s, %s, %s, 1)",
            [starter.id, series, ts],
        )

    service = RetentionService(worker_cells, OnlyThese(directory, {starter.id, pro.id}), notifier)
    await announced_a_week_before(service, now)
    done = {t.tenant.tenant_id: t for t in await service.run_pass(now)}

    after = blocks(admin_conn, starter.id)
    assert after == kept
    latest = "SELECT ts_ns FROM telemetry.series_latest WHERE tenant_id = %s"
    assert [t for (t,) in admin_conn.execute(latest, [starter.id])] == newest[1:]
    rolled_up = "SELECT hour_ns FROM telemetry.rollups WHERE tenant_id = %s"
    assert [h for (h,) in admin_conn.execute(rolled_up, [starter.id])] == hours[2:]  # none outlives a trim
    assert [h for (h,) in admin_conn.execute(rolled_up, [pro.id])] == hours[:1]
    assert done[starter.id].deleted == len(before) - len(kept)
    assert done[starter.id].cutoff_ns == cutoff
    assert day_totals(after) == day_totals(kept)
    assert all(end < cutoff for _s, _st, end, _c, _t in (set(before.values()) - set(after.values())))
    assert blocks(admin_conn, pro.id) == pro_before and done[pro.id].deleted == 0


async def test_a_notice_records_what_the_coming_week_deletes(
    worker_cells, directory, notifier, starter, pro, seeded, admin_conn
):
    now = seeded
    await RetentionService(worker_cells, OnlyThese(directory, {starter.id, pro.id}), notifier).run_pass(now)
    notices = dict(
        (r[0], r[1:])
        for r in admin_conn.execute(
            "SELECT tenant_id, deletes_before_ns, oldest_end_ns, retention_days, plan_code, notice_ns,"
            " effective_ns, notified_at IS NOT NULL"
            " FROM telemetry.retention_notices WHERE tenant_id = ANY(%s)",
            [[starter.id, pro.id]],
        )
    )
    bound = cutoff_ns(now, 30) + NOTICE_DAYS * DAY_NS
    oldest = admin_conn.execute(
        "SELECT min(end_ns) FROM telemetry.blocks WHERE tenant_id = %s", [starter.id]
    ).fetchone()[0]
    # 29 days old: goes within the week, not before a week from now; mailed through tenancy.
    week = NOTICE_DAYS * DAY_NS
    assert notices == {starter.id: (bound, oldest, 30, "starter", now, now + week, True)}
    # Once everything due is deleted (each deletion a week after its announcement), the notice goes.
    service = RetentionService(worker_cells, OnlyThese(directory, {starter.id}), notifier)
    await service.run_pass(now + 60 * DAY_NS - week)
    await service.run_pass(now + 60 * DAY_NS)
    for table in ("retention_notices", "retention_announcements"):
        count = f"SELECT count(*) FROM telemetry.{table} WHERE tenant_id = %s"
        assert admin_conn.execute(count, [starter.id]).fetchone()[0] == 0
    assert blocks(admin_conn, starter.id) == {}


async def test_a_pass_killed_anywhere_then_run_again_gives_the_same_result(
    worker_cells, directory, notifier, starter, pro, seeded, admin_conn
):
    """RELIABILITY D8: A retention pass killed anywhere, then run again, gives the same counts and sums."""
    now = seeded
    rng = random.Random(8)
    before, pro_before = blocks(admin_conn, starter.id), blocks(admin_conn, pro.id)
    kept = expect_kept(before, cutoff_ns(now, 30))
    only = OnlyThese(directory, {starter.id, pro.id})
    await announced_a_week_before(RetentionService(worker_cells, only, notifier), now)
    dawdling = RetentionService(Dawdling(worker_cells, rng), only, notifier, chunk_blocks=2)
    partial = 0
    for _ in range(12):
        task = asyncio.ensure_future(dawdling.run_pass(now))
        await asyncio.sleep(rng.uniform(0, 0.02))
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        current = blocks(admin_conn, starter.id)
        assert set(kept) <= set(current) <= set(before)  # only due blocks ever go
        assert day_totals(expect_kept(current, cutoff_ns(now, 30))) == day_totals(kept)
        partial += len(kept) < len(current)
    assert partial  # some passes were cut before they had deleted everything due
    await RetentionService(worker_cells, only, notifier, chunk_blocks=2).run_pass(now)
    assert blocks(admin_conn, starter.id) == kept
    assert blocks(admin_conn, pro.id) == pro_before


async def test_two_workers_only_one_runs_the_pass(
    worker_cells, directory, notifier, starter, pro, seeded, redis_client, admin_conn
):
    await redis_client.delete(RETENTION_LOCK)
    service = RetentionService(worker_cells, OnlyThese(directory, {starter.id, pro.id}), notifier)
    runners = [SpacedPasses(redis_client, RETENTION_LOCK, service, 3600, holder) for holder in ("w1", "w2")]
    try:
        results = await asyncio.gather(*(r.run_once(seeded) for r in runners))
        assert sorted(r is None for r in results) == [False, True]
        # The turn is kept for the interval: neither runs another pass until it is over.
        assert [await r.run_once(seeded) for r in runners] == [None, None]
        assert await redis_client.pttl(RETENTION_LOCK) > 3_500_000
    finally:
        await redis_client.delete(RETENTION_LOCK)


async def test_a_failed_pass_gives_the_turn_back(redis_client):
    class Broken:
        async def run_pass(self, now_ns=None):
            raise RuntimeError("tenancy down")

    await redis_client.delete(RETENTION_LOCK)
    runner = SpacedPasses(redis_client, RETENTION_LOCK, Broken(), 3600, "w1")
    with pytest.raises(RuntimeError):
        await runner.run_once()
    assert await redis_client.exists(RETENTION_LOCK) == 0


async def test_a_tenants_pass_never_deletes_another_tenants_rows(
    stack, signer, worker_cells, directory, notifier, starter, admin_conn
):
    other = await create_tenant(stack.targets["tenancy"], signer, "Retention other", 2, plan="starter")
    now = now_ns()
    seed(admin_conn, starter, now)
    seed(admin_conn, other, now)
    other_before = blocks(admin_conn, other.id)
    listed = {t.tenant_id: t for t in await directory.tenants()}
    service = RetentionService(worker_cells, directory, notifier)
    await service.trim(listed[starter.id], now - NOTICE_DAYS * DAY_NS)
    assert (await service.trim(listed[starter.id], now)).deleted > 0
    assert blocks(admin_conn, other.id) == other_before
    # Even a statement naming the other tenant, inside this tenant's transaction, finds nothing of it.
    async with worker_cells.tenant(starter.id, "default") as conn:
        for p in await retention_storage.partitions_before(conn, cutoff_ns(now, 30)):
            assert await retention_storage.delete_chunk(conn, p.name, other.id, now, 1000) == 0
    assert blocks(admin_conn, other.id) == other_before


def test_maintain_drops_whole_weeks_past_the_longest_retention_and_prepares_ahead(admin_url, admin_conn):
    longest = longest_retention_days()
    assert longest == 3650  # enterprise
    now = now_ns()
    cutoff = now - longest * DAY_NS
    old_week = partitions.week_start_ns(cutoff) - 2 * partitions.WEEK_NS  # ends a week before the cutoff
    straddling = partitions.week_start_ns(cutoff)  # holds the cutoff: some of it is still kept
    partitions.ensure(admin_conn, old_week, straddling)
    names = {p.name for p in partitions.list_partitions(admin_conn)}
    assert {partitions.partition_name(old_week), partitions.partition_name(straddling)} <= names

    done = maintain({"default": admin_url}, longest, now)

    names = {p.name for p in partitions.list_partitions(admin_conn)}
    assert partitions.partition_name(old_week) not in names
    assert partitions.partition_name(old_week) in done[0].dropped
    assert partitions.partition_name(straddling) in names
    assert "telemetry.blocks_default" in names
    assert partitions.partition_name(now + partitions.AHEAD_NS) in names
    assert all(p.end_ns > cutoff for p in partitions.list_partitions(admin_conn) if not p.is_default)


async def test_the_worker_process_composes_a_retention_pass_from_its_settings(stack, starter, redis_client):
    """`sf serve worker`'s composition root: tenancy over its channel as the service `worker`, the
    catalog's retention, its cells and the Redis turn. Run at a "now" of 1970, so it deletes nothing
    of the other tests' tenants that share the database."""
    settings = dataclasses.replace(stack.worker_settings("retention-test"), retention_interval_s=3600)
    server = WorkerServer(settings)
    await redis_client.delete(RETENTION_LOCK)
    await server.core.open()
    try:
        done = await server.retention.run_once(now_ns=DAY_NS)
    finally:
        await redis_client.delete(RETENTION_LOCK)
        await server.tenancy_channel.close()
        await server.redis.aclose()
        await server.core.close()
    mine = [t for t in done if t.tenant.tenant_id == starter.id]
    assert [(t.tenant.retention_days, t.deleted) for t in mine] == [(30, 0)]
    assert all(t.deleted == 0 for t in done)


class WithOneOnAnUnknownCell:
    """The directory's tenants, with one more placed on a cell this worker is not configured for."""

    def __init__(self, directory, tenant_ids: set[uuid.UUID]) -> None:
        self._inner = OnlyThese(directory, tenant_ids)

    async def tenants(self):
        lost = TenantRetention(uuid.uuid4(), "cell_nowhere", "starter", 30)
        return [lost, *await self._inner.tenants()]


async def test_a_tenant_on_a_cell_not_configured_here_does_not_stop_the_pass(
    worker_cells, directory, notifier, starter, seeded, admin_conn
):
    service = RetentionService(worker_cells, WithOneOnAnUnknownCell(directory, {starter.id}), notifier)
    await service.run_pass(seeded - NOTICE_DAYS * DAY_NS)
    done = await service.run_pass(seeded)
    assert [(t.tenant.tenant_id, t.deleted > 0) for t in done] == [(starter.id, True)]
