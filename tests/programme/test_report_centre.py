"""The report centre end to end through GraphQL with the real stack: a tenant's user reports a problem with
its supplier; the supplier and another tenant never see the report, nor the reporter's tenant its audit; the
operator works it from received through investigating to closed with an outcome, each move audited; bad
input and moves the flow does not allow get clear codes."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from services.runtime.principal import Kind, Principal, Role
from services.runtime.settings import role_url
from sf.seeding import create_tenant
from tests.control_plane import OPERATOR
from tests.programme.helpers import FILE_REPORT, MOVE_REPORT, REPORTS, audit_of, operator_client
from tests.support.helpers import data, owner_client, supplier


@pytest.fixture(scope="module")
async def parties(stack, signer):
    """Supplier S (its admin signed in) resells tenant A (owner signed in); tenant B (owner signed in)."""
    s = await supplier(stack, signer, "Reported S")
    a = await create_tenant(stack.targets["tenancy"], signer, "Reporter A", supplier_id=s.id)
    b = await create_tenant(stack.targets["tenancy"], signer, "Bystander B")
    a_owner, b_owner, operator = (
        await owner_client(stack, a),
        await owner_client(stack, b),
        await operator_client(stack),
    )
    yield s, a, a_owner, b_owner, operator
    for client in (s.client, a_owner, b_owner, operator):
        await client.close()


async def _file(client, **input_) -> dict:
    payload = data(await client.query(FILE_REPORT, input=input_))["fileReport"]
    assert payload["errors"] == [], payload
    return payload["report"]


async def _move(operator, report_id: str, status: str, note: str = "") -> dict:
    return data(await operator.query(MOVE_REPORT, id=report_id, status=status, note=note))["moveReport"]


def _supplier_report(s) -> dict:
    return {
        "category": "SUPPLIER",
        "supplierId": s.id,
        "subject": "Commissioning never finished",
        "body": "The supplier was paid from the subsidy but left the MES half installed in October.",
    }


async def test_a_report_about_a_supplier_is_seen_by_the_operator_and_the_reporter_only(
    stack, signer, parties
):
    s, a, a_owner, b_owner, operator = parties
    filed = await _file(a_owner, **_supplier_report(s))
    assert (filed["status"], filed["supplierName"], filed["outcome"]) == ("RECEIVED", s.name, None)
    assert filed["reporterOrganisation"] == f"tenant:{a.id}"

    assert filed["id"] in {r["id"] for r in data(await a_owner.query(REPORTS))["reports"]}
    for other in (s.client, b_owner):
        assert filed["id"] not in {r["id"] for r in data(await other.query(REPORTS))["reports"]}
    seen = {r["id"]: r for r in data(await operator.query(REPORTS))["reports"]}
    assert seen[filed["id"]]["reporter"] == filed["reporter"] and filed["reporter"].startswith("user:")

    supplier_view = Principal(Kind.USER, str(uuid.uuid4()), supplier_id=uuid.UUID(s.id))
    tenant_view = Principal(Kind.USER, str(uuid.uuid4()), tenant_id=a.id, role=Role.OWNER)
    for viewer in (supplier_view, tenant_view):
        assert not [e for e in await audit_of(stack, signer, viewer) if e.target == filed["id"]]
    [audited] = [e for e in await audit_of(stack, signer, OPERATOR) if e.target == filed["id"]]
    assert (audited.action, audited.tenant_id) == ("report.file", "")


async def test_the_operator_works_a_report_through_to_an_outcome(stack, signer, parties):
    s, _, a_owner, _, operator = parties
    filed = await _file(a_owner, **_supplier_report(s))
    closing_bare = await _move(operator, filed["id"], "CLOSED")
    assert [(e["field"], e["code"]) for e in closing_bare["errors"]] == [("note", "OUTCOME_REQUIRED")]

    taken_up = await _move(
        operator, filed["id"], "INVESTIGATING", "Asked the supplier for the acceptance protocol."
    )
    assert taken_up["errors"] == [] and taken_up["report"]["status"] == "INVESTIGATING"
    backwards = await _move(operator, filed["id"], "RECEIVED")
    assert [e["code"] for e in backwards["errors"]] == ["BAD_TRANSITION"]
    assert "it can become closed" in backwards["errors"][0]["message"]

    outcome = "Supplier finished the installation on 2 December; the agency withheld 10% of the subsidy."
    closed = (await _move(operator, filed["id"], "CLOSED", outcome))["report"]
    assert (closed["status"], closed["outcome"]) == ("CLOSED", outcome)
    assert [(m["fromStatus"], m["toStatus"]) for m in closed["history"]] == [
        ("RECEIVED", "INVESTIGATING"),
        ("INVESTIGATING", "CLOSED"),
    ]
    assert [e["code"] for e in (await _move(operator, filed["id"], "INVESTIGATING"))["errors"]] == [
        "BAD_TRANSITION"
    ]

    mine = {r["id"]: r for r in data(await a_owner.query(REPORTS))["reports"]}[filed["id"]]
    assert (mine["status"], mine["outcome"], mine["history"]) == ("CLOSED", outcome, [])
    moves = [e for e in await audit_of(stack, signer, OPERATOR) if e.target == filed["id"]]
    assert sorted(e.action for e in moves) == ["report.file", "report.move", "report.move"]


async def test_only_the_operator_moves_reports(parties):
    s, _, a_owner, _, _ = parties
    filed = await _file(a_owner, **_supplier_report(s))
    for client in (a_owner, s.client):
        answer = await client.query(MOVE_REPORT, id=filed["id"], status="CLOSED", note="done")
        assert {e["extensions"]["code"] for e in answer["errors"]} == {"FORBIDDEN"}


async def test_bad_reports_get_clear_codes(parties):
    s, _, a_owner, _, operator = parties

    async def refused(**changes) -> list[tuple]:
        payload = data(await a_owner.query(FILE_REPORT, input=_supplier_report(s) | changes))["fileReport"]
        assert payload["report"] is None
        return [(e["field"], e["code"]) for e in payload["errors"]]

    assert await refused(supplierId=None) == [("supplierId", "INVALID_ARGUMENT")]
    assert await refused(supplierId=str(uuid.uuid4())) == [(None, "SUPPLIER_NOT_FOUND")]
    assert await refused(supplierId="not-an-id") == [("supplierId", "INVALID_ARGUMENT")]
    assert await refused(subject="x" * 201) == [("subject", "INVALID_ARGUMENT")]
    assert await refused(body="") == [("body", "INVALID_ARGUMENT")]
    assert await refused(body="x" * 10_001) == [("body", "INVALID_ARGUMENT")]
    misuse = await _file(
        a_owner, category="MISUSE", subject="Idle robot cell", body="Never switched on since delivery."
    )
    assert misuse["supplierId"] is None

    unknown = await _move(operator, str(uuid.uuid4()), "INVESTIGATING")
    assert [e["code"] for e in unknown["errors"]] == ["REPORT_NOT_FOUND"]
    too_long = await _move(operator, misuse["id"], "CLOSED", "x" * 5001)
    assert [(e["field"], e["code"]) for e in too_long["errors"]] == [("note", "INVALID_ARGUMENT")]


def test_reports_are_hidden_from_everyone_else_in_the_database(admin_url, parties):
    """Row-level security on tenancy.reports and report_events: a tenant, a supplier, another person or no
    setting sees none of them."""
    s, a, *_ = parties
    url = role_url(admin_url, "sf_tenancy", None)
    others = (
        {"app.tenant_id": str(a.id)},
        {"app.supplier_id": s.id},
        {"app.reporter": f"user:{uuid.uuid4()}"},
        {},
    )
    for table in ("tenancy.reports", "tenancy.report_events"):
        for settings in others:
            with psycopg.connect(url) as conn:
                for name, value in settings.items():
                    conn.execute("SELECT set_config(%s, %s, true)", [name, value])
                assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,), (table, settings)
        with psycopg.connect(url) as conn:
            conn.execute("SELECT set_config('app.operator', 'on', true)")
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] > 0
