"""Retention warnings (docs/STORAGE.md, "Retention"): nothing is deleted without a week's notice; the
notice is mailed once to the owners and admins through tenancy (a real local SMTP server), again when the
retention gets shorter, and retried when mailing fails; tenants see only their own notice (SQL and
GraphQL). Every pass is driven at an explicit ``now``."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime

import grpc
import pytest

from services.runtime.cells import CellDatabases
from services.runtime.channels import CallerIdentity
from services.runtime.compaction import HOUR_NS
from services.runtime.db import Database
from services.runtime.settings import ServiceSettings, role_url
from services.tenancy.config import TenancySettings
from services.tenancy.server import TenancyServer
from services.worker.notices import TenancyNotifier
from services.worker.retention import DAY_NS, NOTICE_DAYS, RetentionService, cutoff_ns
from sf.inprocess import free_port
from sfcloud.v1 import tenancy_pb2 as pb
from sfcloud.v1 import tenancy_pb2_grpc
from tests.control_plane import OPERATOR
from tests.e2e.provision import GraphQLClient, create_tenant
from tests.worker.test_retention import OnlyThese, blocks, expect_kept, now_ns, seed, write_blocks

WEEK_NS = NOTICE_DAYS * DAY_NS


def mails_to(inbox, *emails: str) -> list:
    return [m for m in inbox.messages if m["To"] in emails]


def body(message) -> str:
    return message.get_payload(decode=True).decode()


def day(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%d")


def notice_row(admin_conn, tenant_id: uuid.UUID) -> tuple | None:
    return admin_conn.execute(
        "SELECT notice_ns, effective_ns, deletes_before_ns, retention_days, plan_code, notified_at"
        " FROM telemetry.retention_notices WHERE tenant_id = %s",
        [tenant_id],
    ).fetchone()


async def change_plan(tenancy, tenant_id: uuid.UUID, plan: str) -> None:
    await tenancy.call("ChangePlan", pb.ChangePlanRequest(tenant_id=str(tenant_id), plan_code=plan), OPERATOR)


async def add_member(tenancy, tenant_id: uuid.UUID, role: int) -> str:
    email = f"m-{secrets.token_hex(4)}@example.com"
    owner = tenancy.owner_of(pb.Tenant(id=str(tenant_id)))
    request = pb.CreateUserRequest(email=email, password="p" * 12, display_name="M", role=role)
    await tenancy.provision(owner.tenant_id, request)
    return email


@pytest.fixture
def mailing_notifier(mailing_tenancy, signer) -> TenancyNotifier:
    return TenancyNotifier(mailing_tenancy.stub, CallerIdentity(signer))


def service_for(worker_cells, directory, notifier, *tenants) -> RetentionService:
    return RetentionService(worker_cells, OnlyThese(directory, {t.id for t in tenants}), notifier)


async def test_a_downgrade_is_mailed_once_and_deletes_nothing_for_a_week(
    stack, signer, worker_cells, directory, mailing_tenancy, mailing_notifier, inbox, admin_conn
):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Downgrade", 2, plan="standard")
    admin = await add_member(mailing_tenancy, tenant.id, pb.ROLE_ADMIN)
    viewer = await add_member(mailing_tenancy, tenant.id, pb.ROLE_VIEWER)
    now = now_ns()
    seed(admin_conn, tenant, now)  # 40, 31, 30 and 29 days old, and one day old
    before = blocks(admin_conn, tenant.id)
    service = service_for(worker_cells, directory, mailing_notifier, tenant)

    [done] = await service.run_pass(now - HOUR_NS)  # standard keeps 365 days: nothing due, no notice
    assert (done.deleted, done.warned_before_ns, done.mailed) == (0, None, False)
    await change_plan(mailing_tenancy, tenant.id, "starter")

    [done] = await service.run_pass(now)  # announced and mailed, nothing deleted
    bound = cutoff_ns(now, 30) + WEEK_NS
    assert (done.deleted, done.cutoff_ns, done.warned_before_ns, done.mailed) == (0, None, bound, True)
    mails = mails_to(inbox, tenant.owner_email, admin, viewer)
    assert sorted(m["To"] for m in mails) == sorted([tenant.owner_email, admin])
    text = body(mails[0])
    for expected in (
        "Starter",
        "30 days",
        day(bound),
        day(now + WEEK_NS),
        day(min(b[2] for b in before.values())),
    ):
        assert expected in text, expected
    assert "export" in text and "keeps data longer" in text
    assert notice_row(admin_conn, tenant.id)[:5] == (now, now + WEEK_NS, bound, 30, "starter")
    assert notice_row(admin_conn, tenant.id)[5] is not None  # notified_at

    for hours in (1, 2, 24):  # the hourly passes: no more mail, nothing deleted
        [done] = await service.run_pass(now + hours * HOUR_NS)
        assert (done.deleted, done.mailed) == (0, False)
    [done] = await service.run_pass(now + WEEK_NS - HOUR_NS)  # 6 days 23 hours later
    assert (done.deleted, done.cutoff_ns) == (0, None)
    assert blocks(admin_conn, tenant.id) == before

    [done] = await service.run_pass(now + WEEK_NS)  # a week after the announcement: what it announced goes
    assert done.cutoff_ns == bound == cutoff_ns(now + WEEK_NS, 30)
    assert blocks(admin_conn, tenant.id) == expect_kept(before, bound)
    assert done.deleted == len(before) - len(expect_kept(before, bound)) > 0
    assert len(mails_to(inbox, tenant.owner_email, admin, viewer)) == 2


async def test_a_shorter_retention_on_a_standing_notice_is_mailed_again(
    stack, signer, worker_cells, directory, mailing_tenancy, mailing_notifier, inbox, admin_conn
):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Pro downgrade", 2, plan="pro")
    now = now_ns()
    seed(admin_conn, tenant, now)
    write_blocks(admin_conn, tenant.id, tenant.series_ids[0], (now - 1100 * DAY_NS) // HOUR_NS * HOUR_NS, 5)
    service = service_for(worker_cells, directory, mailing_notifier, tenant)

    assert [t.mailed for t in await service.run_pass(now)] == [True]  # 1,100 days old: due under pro
    assert [t.mailed for t in await service.run_pass(now + HOUR_NS)] == [False]
    assert notice_row(admin_conn, tenant.id)[:5] == (
        now, now + WEEK_NS, cutoff_ns(now + HOUR_NS, 1095) + WEEK_NS, 1095, "pro"
    )  # fmt: skip
    await change_plan(mailing_tenancy, tenant.id, "starter")
    later = now + 2 * HOUR_NS
    assert [t.mailed for t in await service.run_pass(later)] == [True]  # the bound jumped: a new notice
    assert notice_row(admin_conn, tenant.id)[:4] == (
        later,
        later + WEEK_NS,
        cutoff_ns(later, 30) + WEEK_NS,
        30,
    )
    subjects = [m["Subject"] for m in mails_to(inbox, tenant.owner_email)]
    assert [s.rsplit(" ", 2)[-2] for s in subjects] == ["1095", "30"]
    # An upgrade back moves the bound the other way: no mail.
    await change_plan(mailing_tenancy, tenant.id, "standard")
    assert [t.mailed for t in await service.run_pass(later + HOUR_NS)] == [False]
    assert len(mails_to(inbox, tenant.owner_email)) == 2


async def test_an_upgrade_stops_the_deletion_at_once(
    stack, signer, worker_cells, directory, notifier, tenancy, admin_conn
):
    upgraded = await create_tenant(stack.targets["tenancy"], signer, "Upgrade", 2, plan="starter")
    stays = await create_tenant(stack.targets["tenancy"], signer, "No upgrade", 2, plan="starter")
    now = now_ns()
    for tenant in (upgraded, stays):
        seed(admin_conn, tenant, now)
    before = {t.id: blocks(admin_conn, t.id) for t in (upgraded, stays)}
    service = service_for(worker_cells, directory, notifier, upgraded, stays)
    await service.run_pass(now - WEEK_NS)  # both announced a week ago
    await change_plan(tenancy, upgraded.id, "pro")

    done = {t.tenant.tenant_id: t for t in await service.run_pass(now)}
    assert (done[upgraded.id].deleted, done[upgraded.id].cutoff_ns) == (0, cutoff_ns(now, 1095))
    assert blocks(admin_conn, upgraded.id) == before[upgraded.id]
    assert notice_row(admin_conn, upgraded.id) is None  # nothing due within a week under pro
    count = "SELECT count(*) FROM telemetry.retention_announcements WHERE tenant_id = %s"
    assert admin_conn.execute(count, [upgraded.id]).fetchone()[0] == 0
    assert done[stays.id].deleted > 0  # the same pass on the same data without the upgrade
    assert blocks(admin_conn, stays.id) == expect_kept(before[stays.id], cutoff_ns(now, 30))


@pytest.fixture
async def tenancy_without_mail(admin_url, signing_key, signer):
    """A tenancy server whose SMTP server does not answer (nothing listens on its port)."""
    service = ServiceSettings("tenancy", "127.0.0.1:0", role_url(admin_url, "sf_tenancy", None), signing_key)
    dead_smtp = f"smtp://127.0.0.1:{free_port()}"
    server = TenancyServer(TenancySettings(service, smtp_url=dead_smtp, public_url="http://sf.test"))
    port = await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield TenancyNotifier(tenancy_pb2_grpc.TenancyServiceStub(channel), CallerIdentity(signer))
    await server.stop()


async def test_a_notice_whose_mail_failed_is_mailed_by_a_later_pass(
    stack, signer, worker_cells, directory, tenancy_without_mail, mailing_notifier, inbox, admin_conn
):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Mail down", 2, plan="starter")
    now = now_ns()
    seed(admin_conn, tenant, now)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{free_port()}") as nowhere:  # tenancy itself down
        tenancy_down = TenancyNotifier(tenancy_pb2_grpc.TenancyServiceStub(nowhere), CallerIdentity(signer))
        for notifier, hour in ((tenancy_without_mail, 0), (tenancy_down, 1)):
            [done] = await service_for(worker_cells, directory, notifier, tenant).run_pass(
                now + hour * HOUR_NS
            )
            assert (done.warned_before_ns is not None, done.mailed) == (True, False)
            assert (
                notice_row(admin_conn, tenant.id)[0] == now and notice_row(admin_conn, tenant.id)[5] is None
            )
    assert mails_to(inbox, tenant.owner_email) == []

    service = service_for(worker_cells, directory, mailing_notifier, tenant)
    assert [t.mailed for t in await service.run_pass(now + 2 * HOUR_NS)] == [True]
    assert notice_row(admin_conn, tenant.id)[5] is not None
    assert [t.mailed for t in await service.run_pass(now + 3 * HOUR_NS)] == [False]
    assert len(mails_to(inbox, tenant.owner_email)) == 1


async def test_a_crash_between_the_mail_and_its_mark_sends_no_second_mail(
    stack, signer, worker_cells, directory, mailing_notifier, inbox, admin_conn
):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Crash", 2, plan="starter")
    now = now_ns()
    seed(admin_conn, tenant, now)
    service = service_for(worker_cells, directory, mailing_notifier, tenant)
    assert [t.mailed for t in await service.run_pass(now)] == [True]
    # As if the worker had died after tenancy's answer, before marking the notice: the next pass asks again.
    admin_conn.execute(
        "UPDATE telemetry.retention_notices SET notified_at = NULL WHERE tenant_id = %s", [tenant.id]
    )
    assert [t.mailed for t in await service.run_pass(now + HOUR_NS)] == [True]  # tenancy: already sent
    assert notice_row(admin_conn, tenant.id)[5] is not None
    assert len(mails_to(inbox, tenant.owner_email)) == 1


@pytest.fixture
async def analytics_cells(admin_url):
    """The analytics service's pool (role sf_analytics), which may read the notices."""
    db = Database(role_url(admin_url, "sf_analytics", None), max_size=2)
    await db.open()
    yield CellDatabases(db, {}, "sf-analytics-test")
    await db.close()


async def test_a_tenant_sees_only_its_own_notice(
    stack, signer, worker_cells, analytics_cells, directory, notifier, admin_conn
):
    a = await create_tenant(stack.targets["tenancy"], signer, "Notice A", 2, plan="starter")
    b = await create_tenant(stack.targets["tenancy"], signer, "Notice B", 2, plan="starter")
    quiet = await create_tenant(stack.targets["tenancy"], signer, "Notice none", 2, plan="starter")
    now = now_ns()
    seed(admin_conn, a, now)
    write_blocks(admin_conn, b.id, b.series_ids[0], (now - 27 * DAY_NS) // HOUR_NS * HOUR_NS, 9)
    await service_for(worker_cells, directory, notifier, a, b, quiet).run_pass(now)
    rows = {t: notice_row(admin_conn, t) for t in (a.id, b.id, quiet.id)}
    assert rows[a.id] and rows[b.id] and rows[quiet.id] is None

    # SQL: in A's transaction, as analytics (reads) and as the worker (writes), only A's rows exist.
    for cells in (analytics_cells, worker_cells):
        async with cells.tenant(a.id, "default") as conn:
            cur = await conn.execute("SELECT tenant_id FROM telemetry.retention_notices")
            assert await cur.fetchall() == [(a.id,)]
            cur = await conn.execute(
                "SELECT count(*) FROM telemetry.retention_notices WHERE tenant_id = %s", [b.id]
            )
            assert (await cur.fetchone())[0] == 0
    async with worker_cells.tenant(a.id, "default") as conn:
        cur = await conn.execute("SELECT DISTINCT tenant_id FROM telemetry.retention_announcements")
        assert await cur.fetchall() == [(a.id,)]

    # GraphQL: each tenant's session gets its own notice; a tenant without one gets null.
    fields = "retentionNotice { deletesBefore oldestEnd retentionDays planCode effectiveAt notifiedAt }"
    seen = {}
    for tenant in (a, b, quiet):
        client = await GraphQLClient.login(stack.gateway_url, tenant.owner_email, tenant.owner_password)
        try:
            seen[tenant.id] = (await client.query("{ " + fields + " }"))["data"]["retentionNotice"]
        finally:
            await client.close()
    assert seen[quiet.id] is None
    for tenant in (a, b):
        notice = seen[tenant.id]
        oldest = admin_conn.execute(
            "SELECT oldest_end_ns FROM telemetry.retention_notices WHERE tenant_id = %s", [tenant.id]
        ).fetchone()[0]
        assert notice["retentionDays"] == 30 and notice["planCode"] == "starter"
        assert notice["deletesBefore"].startswith(day(rows[tenant.id][2]))
        assert notice["effectiveAt"].startswith(day(now + WEEK_NS))
        assert notice["oldestEnd"].startswith(day(oldest)) and notice["notifiedAt"] is not None
    assert seen[a.id]["oldestEnd"] != seen[b.id]["oldestEnd"]  # A's oldest data is 40 days old, B's 27
