"""The operator's monthly utilisation report end to end through GraphQL with the real stack: a tenant built to
be idle is flagged with the numbers that show it, one built to be active is not; a flag is marked reviewed and
audited; the CSV holds the report's figures; bad input and other callers are refused.

November 2026 is built as the platform would have recorded it (the services stamp their records with the
present): the tenants and devices existed from October, ingest's daily metering on the cell, sign-ins in the
audit log, analytics' daily levels in tenancy, the gateway's API calls in tenancy's usage."""

from __future__ import annotations

import csv
import io
import time
import uuid
from datetime import date, timedelta

import grpc
import psycopg
import pytest

from services.runtime.principal import Kind, Principal, Role
from services.runtime.settings import role_url
from sf.seeding import create_tenant
from sfcloud.v1 import programme_pb2, programme_pb2_grpc, tenancy_pb2_grpc
from sfcloud.v1 import tenancy_pb2 as pb
from tests.control_plane import OPERATOR, Tenancy
from tests.programme.helpers import (
    CSV,
    REPORT,
    REPORT_PAGE,
    REVIEW,
    SET_SUBSIDISED,
    audit_of,
    operator_client,
)
from tests.support.helpers import data, owner_client, supplier

MONTH, FIRST, DAYS = "2026-11", date(2026, 11, 1), 30
IDLE_DAY = FIRST + timedelta(days=14)


def _owner(tenant) -> Principal:
    return Principal(Kind.USER, str(uuid.uuid4()), tenant_id=tenant.id, role=Role.OWNER)


async def _devices(stack, signer, tenant, more: int) -> list[str]:
    """The tenant's device ids after registering ``more`` devices."""
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
        tenancy = Tenancy(tenancy_pb2_grpc.TenancyServiceStub(channel), signer)
        for n in range(more):
            await tenancy.call("CreateDevice", pb.CreateDeviceRequest(name=f"press {n}"), _owner(tenant))
        return [
            d.id for d in (await tenancy.call("ListDevices", pb.ListDevicesRequest(), _owner(tenant))).devices
        ]


async def _build_november(admin_url: str, idle, idle_device: str, active, active_device: str) -> None:
    async with await psycopg.AsyncConnection.connect(admin_url, autocommit=True) as conn:
        for table in ("tenancy.tenants", "tenancy.devices"):
            column = "id" if table == "tenancy.tenants" else "tenant_id"
            await conn.execute(
                f"UPDATE {table} SET created_at = '2026-10-01' WHERE {column} = ANY(%s)",
                [[idle.id, active.id]],
            )
        stored = [(idle.id, IDLE_DAY, idle_device, 500, 900)]
        stored += [(active.id, FIRST + timedelta(days=d), active_device, 1000, 1500) for d in range(DAYS)]
        for tenant_id, day, device, points, size in stored:
            await conn.execute(
                "INSERT INTO telemetry.usage_daily (tenant_id, day, device_id, points, bytes, batches)"
                " VALUES (%s, %s, %s, %s, %s, 1)",
                [tenant_id, day, device, points, size],
            )
        people = [str(uuid.uuid4()), str(uuid.uuid4())]
        for d in range(DAYS):
            await conn.execute(
                "INSERT INTO tenancy.audit_log (tenant_id, at, actor_kind, actor_id, action, target, outcome)"
                " VALUES (%s, %s, 'service', 'gateway', 'login', %s, 'ok')",
                [active.id, f"{FIRST + timedelta(days=d)} 08:00Z", people[d % 2]],
            )
            await conn.execute(
                "INSERT INTO tenancy.usage_daily (tenant_id, day, api_calls) VALUES (%s, %s, 10)",
                [active.id, FIRST + timedelta(days=d)],
            )
        await conn.execute(
            "INSERT INTO tenancy.audit_log (tenant_id, at, actor_kind, actor_id, action, target, outcome)"
            " VALUES (%s, '2026-11-20 10:00Z', 'user', 'someone', 'export.request', 'x', 'ok')",
            [active.id],
        )
        for day, level in ((FIRST, 2), (FIRST + timedelta(days=DAYS - 1), 3)):
            await conn.execute(
                "INSERT INTO tenancy.tenant_levels VALUES (%s, %s, %s)", [active.id, day, level]
            )


@pytest.fixture(scope="module")
async def built(stack, signer, admin_url):
    """An idle tenant (3 devices, data from one of them on 1 of 30 days, nobody signed in) and an active one
    (its device stored data every day, two people signed in 30 times), both subsidised by the operator."""
    idle = await create_tenant(stack.targets["tenancy"], signer, "Idle factory")
    active = await create_tenant(stack.targets["tenancy"], signer, "Active factory")
    idle_devices = await _devices(stack, signer, idle, more=2)
    active_devices = await _devices(stack, signer, active, more=0)
    await _build_november(admin_url, idle, idle_devices[0], active, active_devices[0])
    operator = await operator_client(stack)
    for tenant in (idle, active):
        payload = data(await operator.query(SET_SUBSIDISED, tenant=str(tenant.id), on=True))["setSubsidised"]
        assert payload == {"subsidised": True, "errors": []}
    yield idle, active, operator
    await operator.close()


async def _month(operator, tenant, month: str = MONTH) -> dict:
    page = data(await operator.query(REPORT_PAGE, month=month, tenant=str(tenant.id)))
    [found] = page["utilisationReportConnection"]["nodes"]
    assert page["utilisationReportConnection"]["pageInfo"] == {"endCursor": None, "hasNextPage": False}
    return found


async def test_the_idle_tenant_is_flagged_with_its_evidence_and_the_active_one_is_not(built):
    idle, active, operator = built
    quiet = await _month(operator, idle)
    assert (quiet["daysCounted"], quiet["daysWithData"], quiet["points"], quiet["bytes"]) == (30, 1, 500, 900)
    assert (quiet["registeredDevices"], quiet["reportingDevices"], quiet["logins"]) == (3, 1, 0)
    assert quiet["subsidised"] is True and quiet["levels"] == []
    flags = {f["rule"]: f for f in quiet["flags"]}
    assert set(flags) == {"SUBSIDISED_IDLE", "DEVICES_SILENT", "NO_LOGINS"}
    assert flags["SUBSIDISED_IDLE"]["value"] == pytest.approx(1 / 30)
    assert flags["SUBSIDISED_IDLE"]["threshold"] == 0.2
    assert flags["SUBSIDISED_IDLE"]["evidence"] == "data on 1 of 30 days (3.3%); the rule wants at least 20%"
    assert flags["DEVICES_SILENT"]["value"] == pytest.approx(1 / 3)
    assert flags["DEVICES_SILENT"]["evidence"].startswith("1 of 3 registered devices stored data (33.3%)")
    assert flags["NO_LOGINS"]["value"] == 0 and flags["NO_LOGINS"]["reviewedAt"] is None

    busy = await _month(operator, active)
    assert (busy["daysWithData"], busy["registeredDevices"], busy["reportingDevices"]) == (30, 1, 1)
    assert (busy["points"], busy["bytes"], busy["logins"], busy["loginUsers"]) == (30_000, 45_000, 30, 2)
    features = {f["feature"]: f["count"] for f in busy["features"]}
    assert features == {"api_calls": 300, "alarm_rules": 0, "exports": 1, "sharing_grants": 0, "tickets": 0}
    assert busy["levels"] == [{"day": "2026-11-01", "level": 2}, {"day": "2026-11-30", "level": 3}]
    assert busy["flags"] == []

    flagged = data(await operator.query(REPORT, month=MONTH, flagged=True))["utilisationReport"]
    ids = {t["tenantId"] for t in flagged}
    assert str(idle.id) in ids and str(active.id) not in ids


async def test_the_operator_marks_a_flag_reviewed_and_only_the_operator_sees_the_audit(stack, signer, built):
    idle, _, operator = built
    note = "Visited on 3 December: the presses are being retrofitted until January."
    payload = data(
        await operator.query(REVIEW, tenant=str(idle.id), month=MONTH, rule="SUBSIDISED_IDLE", note=note)
    )["reviewUtilisationFlag"]
    assert payload["errors"] == [] and payload["flag"]["reviewNote"] == note
    assert payload["flag"]["reviewedBy"].startswith("user:") and payload["flag"]["reviewedAt"]
    flags = {f["rule"]: f for f in (await _month(operator, idle))["flags"]}
    assert flags["SUBSIDISED_IDLE"]["reviewNote"] == note and flags["NO_LOGINS"]["reviewNote"] is None

    reviewed = [e for e in await audit_of(stack, signer, OPERATOR) if e.action == "utilisation.review"]
    assert any(e.target == str(idle.id) and e.tenant_id == "" for e in reviewed)
    assert not [e for e in await audit_of(stack, signer, _owner(idle)) if e.action.startswith("utilisation")]


async def test_the_csv_export_holds_the_reports_figures(built):
    idle, active, operator = built
    report = {t["tenantId"]: t for t in data(await operator.query(REPORT, month=MONTH))["utilisationReport"]}
    rows = list(
        csv.DictReader(io.StringIO(data(await operator.query(CSV, month=MONTH))["utilisationReportCsv"]))
    )
    assert {r["tenant_id"] for r in rows} == set(report)
    for row in rows:
        month = report[row["tenant_id"]]
        figures = (
            "daysWithData",
            "registeredDevices",
            "reportingDevices",
            "points",
            "bytes",
            "logins",
            "loginUsers",
        )
        columns = (
            "days_with_data",
            "registered_devices",
            "reporting_devices",
            "points",
            "bytes",
            "logins",
            "login_users",
        )
        assert [int(row[c]) for c in columns] == [int(month[f]) for f in figures]
        assert (row["flags"].split(";") if row["flags"] else []) == [f["rule"] for f in month["flags"]]
        assert {f["feature"]: f["count"] for f in month["features"]} == {
            f["feature"]: int(row[f["feature"]]) for f in month["features"]
        }
    by_id = {r["tenant_id"]: r for r in rows}
    assert by_id[str(active.id)]["first_level"] == "2" and by_id[str(active.id)]["last_level"] == "3"
    assert by_id[str(idle.id)]["subsidised"] == "true" and by_id[str(idle.id)]["days_counted"] == "30"


async def test_sign_ins_through_the_gateway_count_in_the_current_month(stack, built):
    _, active, operator = built
    this_month = time.strftime("%Y-%m", time.gmtime())
    before = (await _month(operator, active, this_month))["logins"]
    owner = await owner_client(stack, active)
    await owner.close()
    now = await _month(operator, active, this_month)
    assert now["logins"] == before + 1 and now["loginUsers"] >= 1
    assert now["daysCounted"] == time.gmtime().tm_mday


def _refusal(answer: dict) -> tuple[str, str]:
    [error] = answer["errors"]
    return error["extensions"]["code"], error["extensions"].get("reason", "")


async def test_bad_input_gets_clear_codes(built):
    idle, active, operator = built
    for month in ("2026-13", "November", ""):
        assert _refusal(await operator.query(REPORT, month=month))[0] == "BAD_USER_INPUT"
    assert _refusal(await operator.query(REPORT, month="2099-01")) == ("BAD_USER_INPUT", "MONTH_NOT_STARTED")
    assert _refusal(await operator.query(REPORT, month=MONTH, tenant=str(uuid.uuid4()))) == (
        "NOT_FOUND",
        "TENANT_NOT_FOUND",
    )

    async def review_errors(tenant, rule: str, note: str = "checked") -> list[dict]:
        answer = await operator.query(REVIEW, tenant=str(tenant), month=MONTH, rule=rule, note=note)
        payload = data(answer)["reviewUtilisationFlag"]
        assert payload["flag"] is None
        return [(e["field"], e["code"]) for e in payload["errors"]]

    assert await review_errors(idle.id, "NO_SUCH_RULE") == [("rule", "UNKNOWN_RULE")]
    assert await review_errors(active.id, "SUBSIDISED_IDLE") == [(None, "FLAG_NOT_RAISED")]
    assert await review_errors(idle.id, "NO_LOGINS", note="x" * 2001) == [("note", "INVALID_ARGUMENT")]
    assert await review_errors(idle.id, "NO_LOGINS", note="  ") == [("note", "INVALID_ARGUMENT")]
    assert await review_errors(uuid.uuid4(), "NO_LOGINS") == [(None, "TENANT_NOT_FOUND")]
    unknown = data(await operator.query(SET_SUBSIDISED, tenant=str(uuid.uuid4()), on=True))["setSubsidised"]
    assert [e["code"] for e in unknown["errors"]] == ["TENANT_NOT_FOUND"]


async def test_only_the_operator_reaches_the_report(stack, signer, built):
    idle, _, _ = built
    owner = await owner_client(stack, idle)
    staff = await supplier(stack, signer, "Curious supplier")
    try:
        for client in (owner, staff.client):
            assert _refusal(await client.query(REPORT, month=MONTH))[0] == "FORBIDDEN"
            assert _refusal(await client.query(CSV, month=MONTH))[0] == "FORBIDDEN"
            answer = await client.query(SET_SUBSIDISED, tenant=str(idle.id), on=False)
            assert _refusal(answer)[0] == "FORBIDDEN"
    finally:
        await owner.close()
        await staff.client.close()
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:  # tenancy refuses them itself
        programme = Tenancy(programme_pb2_grpc.ProgrammeServiceStub(channel), signer)
        request = programme_pb2.GetUtilisationReportRequest(month=MONTH)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await programme.call("GetUtilisationReport", request, _owner(idle))
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_reviews_are_the_operators_alone_in_the_database(admin_url, built):
    """Row-level security on tenancy.utilisation_reviews: nothing for a tenant, a supplier or no setting."""
    idle, _, _ = built
    url = role_url(admin_url, "sf_tenancy", None)
    count = "SELECT count(*) FROM tenancy.utilisation_reviews WHERE tenant_id = %s"
    for settings in ({"app.tenant_id": str(idle.id)}, {"app.supplier_id": str(uuid.uuid4())}, {}):
        with psycopg.connect(url) as conn:
            for name, value in settings.items():
                conn.execute("SELECT set_config(%s, %s, true)", [name, value])
            assert conn.execute(count, [idle.id]).fetchone() == (0,)
    with psycopg.connect(url) as conn:
        conn.execute("SELECT set_config('app.operator', 'on', true)")
        assert conn.execute(count, [idle.id]).fetchone() == (1,)


async def test_a_tenant_whose_cell_does_not_answer_is_unknown_not_idle(stack, signer, admin_url, built):
    """One tenant's telemetry out of reach (its cell gone) leaves the report standing for every tenant; that
    tenant's row says its telemetry is unknown, and the rules that judge telemetry raise nothing for it."""
    _, active, operator = built
    stranded = await create_tenant(stack.targets["tenancy"], signer, "Stranded factory")
    await _devices(stack, signer, stranded, more=2)
    payload = data(await operator.query(SET_SUBSIDISED, tenant=str(stranded.id), on=True))["setSubsidised"]
    assert payload["errors"] == []
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("UPDATE tenancy.tenants SET cell = 'decommissioned' WHERE id = %s", [stranded.id])
    month = time.strftime("%Y-%m", time.gmtime())
    rows = {
        t["tenantId"]: t
        for t in data(await operator.query(REPORT, month=month, flagged=False))["utilisationReport"]
    }
    row = rows[str(stranded.id)]
    assert row["telemetryUnavailable"] is True and (row["daysWithData"], row["points"]) == (0, 0)
    assert not {f["rule"] for f in row["flags"]} & {"SUBSIDISED_IDLE", "DEVICES_SILENT"}
    assert rows[str(active.id)]["telemetryUnavailable"] is False
