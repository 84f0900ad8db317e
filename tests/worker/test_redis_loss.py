"""RELIABILITY D6: Redis may lose the job queues whole (production's Valkey keeps no append-only file), and
nothing PostgreSQL acknowledged may be lost with them: the sweeps put back, from PostgreSQL, every export
still to do and every hour still to compact. Each test uses a Redis of its own (``crashable``) and loses all
of it, by FLUSHALL or by kill -9 with its files deleted."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import pytest

from services.runtime.channels import CallerIdentity
from services.runtime.compaction import DUE_KEY, GROUP, JOBS_KEY
from services.runtime.settings import DEFAULT_CELL
from services.worker import export_storage
from services.worker.catalog import TenancyCatalog
from services.worker.compaction_sweep import CompactionSweep, Window
from services.worker.export_queue import ExportQueue, ExportRunner
from services.worker.export_sweep import ExportSweep
from services.worker.exporter import Exporter, ExportJob, lease_for
from services.worker.jobs import CompactionRunner, JobQueue
from services.worker.service import CompactionService
from tests.worker.conftest import block_counts, closed_hour, crash_and_restart, job
from tests.worker.test_crash import seed_hours, snapshot
from tests.worker.test_queue import drain
from tests.worker.test_retention import WithOneOnAnUnknownCell

pytestmark = pytest.mark.slow
CLAIM_IDLE_S = 3.0
LEASE_S = lease_for(CLAIM_IDLE_S)
LOSSES = ["flushall", "kill_wiped"]


async def lose_everything(how: str, server, client) -> None:
    """Every key gone: FLUSHALL, or kill -9 and a restart on an empty data directory."""
    if how == "flushall":
        await client.flushall()
    else:
        await crash_and_restart(server, client, wipe=True)
    assert await client.dbsize() == 0


class CountingExporter:
    """The exports a run finished (made the package and marked done), and how many ran at once."""

    def __init__(self, inner: Exporter) -> None:
        self.inner = inner
        self.finished: Counter = Counter()

    async def run(self, job: ExportJob) -> bool:
        did = await self.inner.run(job)
        if did:
            self.finished[job.export_id] += 1
        return did


class Gate:
    """A catalog whose answers wait until opened: an export held by its run as long as the test wants."""

    def __init__(self, inner: TenancyCatalog) -> None:
        self.inner = inner
        self.entered = asyncio.Event()
        self.open = asyncio.Event()

    async def tree(self, tenant_id: uuid.UUID):
        self.entered.set()
        await self.open.wait()
        return await self.inner.tree(tenant_id)


@pytest.fixture
def catalog(tenancy_stub, signer) -> TenancyCatalog:
    return TenancyCatalog(tenancy_stub, CallerIdentity(signer))


def exporter_of(worker_cells, catalog, tmp_path) -> CountingExporter:
    return CountingExporter(Exporter(worker_cells, catalog, None, tmp_path, LEASE_S))


def runner(client, name: str, exporter) -> ExportRunner:
    return ExportRunner(ExportQueue(client, name, CLAIM_IDLE_S, poll_s=0.05), exporter)


async def start_exports(worker_cells, queue: ExportQueue, tenant, count: int) -> list[uuid.UUID]:
    """As StartExport does: the row and its entry, added before the row commits."""
    ids = [uuid.uuid4() for _ in range(count)]
    for export_id in ids:
        async with worker_cells.tenant(tenant.id, DEFAULT_CELL) as conn:
            await export_storage.insert(conn, tenant.id, export_id, False, "test:d6")
            await queue.put(ExportJob(DEFAULT_CELL, tenant.id, export_id))
    return ids


def states(admin_conn, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = admin_conn.execute("SELECT id, state FROM telemetry.exports WHERE id = ANY(%s)", [ids]).fetchall()
    return dict(rows)


async def until_done(
    admin_conn, runners: list[ExportRunner], ids: list[uuid.UUID], within: float = 60.0
) -> None:
    async def work(each: ExportRunner) -> None:
        while set(states(admin_conn, ids).values()) != {"done"}:
            await each.run_once()

    async with asyncio.timeout(within):
        await asyncio.gather(*(work(r) for r in runners))


def mine(members: set[str], ids: list[uuid.UUID]) -> set[str]:
    return {m for m in members if any(str(i) in m for i in ids)}


@pytest.mark.parametrize("how", LOSSES)
async def test_exports_queued_when_redis_loses_everything_finish_once_after_the_sweep(
    stack,
    tenant,
    worker_cells,
    admin_conn,
    catalog,
    crashable,
    tmp_path,
    how,
):
    """RELIABILITY D6: five exports queued, then every Redis key lost: the sweep puts their entries back, two
    workers finish each export exactly once; a later sweep puts nothing back, and a duplicate entry of a
    finished export changes nothing."""
    server, client = crashable
    queue = ExportQueue(client, "starter", CLAIM_IDLE_S)
    await queue.ensure_group()
    ids = await start_exports(worker_cells, queue, tenant, 5)
    await lose_everything(how, server, client)

    sweep = ExportSweep(worker_cells, queue)
    assert await sweep.run_pass() >= len(ids)
    expected = {ExportJob(DEFAULT_CELL, tenant.id, i).member for i in ids}
    assert mine(await queue.members(), ids) == expected
    exporter = exporter_of(worker_cells, catalog, tmp_path)
    await until_done(admin_conn, [runner(client, "a", exporter), runner(client, "b", exporter)], ids)
    assert exporter.finished == Counter(ids)  # each once
    assert mine(await queue.members(), ids) == set()

    await sweep.run_pass()
    assert mine(await queue.members(), ids) == set()
    finished_at = admin_conn.execute(
        "SELECT finished_at FROM telemetry.exports WHERE id = %s", [ids[0]]
    ).fetchone()
    await queue.put(ExportJob(DEFAULT_CELL, tenant.id, ids[0]))  # a duplicate of a finished export
    assert await runner(client, "c", exporter).run_once()  # taken and acknowledged, nothing done
    assert exporter.finished == Counter(ids)
    assert (
        admin_conn.execute("SELECT finished_at FROM telemetry.exports WHERE id = %s", [ids[0]]).fetchone()
        == finished_at
    )
    assert await client.xlen("export:jobs") == 0


async def test_a_sweep_while_a_worker_holds_an_export_does_not_start_it_twice(
    stack,
    tenant,
    worker_cells,
    admin_conn,
    catalog,
    crashable,
    tmp_path,
):
    """RELIABILITY D6: Redis loses everything while a worker makes an export: the sweep leaves it alone (its
    lease is live), a duplicate entry is dropped by the worker that takes it, and the export finishes once.
    A worker that dies holding an export: once its lease expires the sweep puts the export back, and
    another worker finishes it."""
    server, client = crashable
    queue = ExportQueue(client, "starter", CLAIM_IDLE_S)
    await queue.ensure_group()
    [held] = await start_exports(worker_cells, queue, tenant, 1)
    gate = Gate(catalog)
    holder = runner(client, "holder", CountingExporter(Exporter(worker_cells, gate, None, tmp_path, LEASE_S)))
    holding = asyncio.create_task(holder.run_once())
    await asyncio.wait_for(gate.entered.wait(), 10)
    await lose_everything("flushall", server, client)
    await asyncio.sleep(LEASE_S * 1.5)  # longer than the lease: renewed meanwhile

    sweep = ExportSweep(worker_cells, queue)
    other = exporter_of(worker_cells, catalog, tmp_path)
    await sweep.run_pass()
    assert mine(await queue.members(), [held]) == set()  # held: not put back
    await queue.put(ExportJob(DEFAULT_CELL, tenant.id, held))  # a duplicate anyway
    await queue.ensure_group()
    assert await runner(client, "other", other).run_once()  # dropped: held by a live lease
    assert other.finished[held] == 0
    gate.open.set()
    assert await holding
    assert holder._exporter.finished == Counter([held])
    assert states(admin_conn, [held]) == {held: "done"}

    # another export: its worker takes it and dies before it finishes, and then Redis loses everything
    gate.open.clear()
    gate.entered.clear()
    [orphan] = await start_exports(worker_cells, queue, tenant, 1)
    dying = asyncio.create_task(holder.run_once())
    await asyncio.wait_for(gate.entered.wait(), 10)
    dying.cancel()  # no more renewals: as if killed
    await lose_everything("flushall", server, client)
    await sweep.run_pass()
    assert mine(await queue.members(), [orphan]) == set()  # its lease has not expired yet
    await asyncio.sleep(LEASE_S + 0.5)
    await sweep.run_pass()
    assert mine(await queue.members(), [orphan]) == {ExportJob(DEFAULT_CELL, tenant.id, orphan).member}
    await until_done(admin_conn, [runner(client, "other", other)], [orphan])
    assert other.finished == Counter([orphan])


@pytest.mark.parametrize("how", LOSSES)
async def test_hours_due_when_redis_loses_everything_are_compacted_after_the_sweep(
    stack,
    tenant,
    worker_cells,
    admin_conn,
    directory,
    crashable,
    how,
):
    """RELIABILITY D6: hours announced and half of them taken but unacknowledged, then every Redis key lost:
    the sweep finds every uncompacted hour in PostgreSQL, a worker compacts each once, counts and sums
    unchanged; a second sweep schedules none of them; a tenant on a cell not configured here is skipped."""
    server, client = crashable
    hours = [closed_hour(h) for h in range(30, 24, -1)]
    await seed_hours(stack, tenant, hours)
    before = snapshot(admin_conn, tenant)
    jobs = [job(tenant, series, hour) for hour in hours for series in tenant.series_ids[:2]]
    doomed = JobQueue(client, "doomed", claim_idle_s=0.5, count=len(jobs) // 2)
    await client.zadd(DUE_KEY, {j.member: 0 for j in jobs})
    await doomed.ensure_group()
    await doomed.promote()
    assert len(await doomed.take(block=False)) == len(jobs) // 2
    await lose_everything(how, server, client)

    listed = WithOneOnAnUnknownCell(directory, {tenant.id})  # a cell down or unknown skips only its tenants
    sweep = CompactionSweep(client, worker_cells, listed, 256, Window(lookback_h=48, after_s=0))
    assert await sweep.run_pass() >= len(jobs)
    assert {j.member for j in jobs} <= {m.decode() for m in await client.zrange(DUE_KEY, 0, -1)}
    heir = CompactionRunner(
        JobQueue(client, "heir", claim_idle_s=0.5, poll_s=0.05), CompactionService(worker_cells, 256)
    )
    await drain(client, [heir], within=120)
    for series in tenant.series_ids[:2]:
        assert block_counts(admin_conn, series) == [256, 144] * len(hours)
    assert snapshot(admin_conn, tenant) == before
    assert (await client.xpending(JOBS_KEY, GROUP))["pending"] == 0

    await sweep.run_pass()
    assert not [m for m in await client.zrange(DUE_KEY, 0, -1) if str(tenant.id).encode() in m]
