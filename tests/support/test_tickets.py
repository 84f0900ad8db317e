"""After-service tickets end to end through GraphQL with the real stack: the snapshot matches the devices'
state, the status flow and its refusals, response and resolution times against the plan, and who sees
which ticket (another tenant's or another supplier's tenants' tickets are NOT_FOUND)."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from gateway.graphql.scalars import parse_timestamp
from services.runtime.channels import CallerIdentity, open_channel
from services.runtime.db import Database
from services.runtime.principal import Kind, Principal, Role
from services.runtime.settings import role_url
from services.tenancy.device_telemetry import AnalyticsDeviceTelemetry
from services.tenancy.mail_outbox import MailOutbox
from services.tenancy.mailer import LogMailer
from services.tenancy.support_models import Ticket
from services.tenancy.tickets import Tickets
from sf.seeding import create_tenant, send_batches
from sfcloud.v1 import query_pb2_grpc
from tests.alarms.helpers import alarm_api
from tests.e2e.test_bad_input import batch
from tests.isolation.test_graphql_matrix import raised_alarm
from tests.support.helpers import (
    COMMENT,
    SET_STATUS,
    TICKET,
    data,
    error_codes,
    open_ticket,
    owner_client,
    supplier,
)

HOUR_NS = 3600 * 10**9
DEVICES = "{ devices { id lastBatchAt lastPointAt } }"


@pytest.fixture(scope="module")
async def served(stack, signer):
    """Supplier S (its admin signed in) resells tenant A (owner signed in); supplier T resells tenant B."""
    s = await supplier(stack, signer, "Support S")
    t = await supplier(stack, signer, "Support T")
    a = await create_tenant(stack.targets["tenancy"], signer, "Tickets A", supplier_id=s.id)
    b = await create_tenant(stack.targets["tenancy"], signer, "Tickets B", supplier_id=t.id)
    a_owner, b_owner = await owner_client(stack, a), await owner_client(stack, b)
    yield s, t, a, a_owner, b_owner
    for client in (s.client, t.client, a_owner, b_owner):
        await client.close()


async def test_the_snapshot_holds_each_devices_last_seen_time_error_rates_and_recent_alarms(
    stack, signer, served
):
    s, _, a, a_owner, _ = served
    now = time.time_ns()
    await send_batches(
        stack.targets["ingest"],
        a.credential,
        [batch(a.series_ids[0], [now - 2 * 10**9], [1.0], 1), batch(a.series_ids[1], [now], [2.0], 2)],
    )
    with pytest.raises(grpc.aio.AioRpcError):  # a refused batch: two timestamps, one value
        await send_batches(
            stack.targets["ingest"], a.credential, [batch(a.series_ids[0], [now, now + 1], [3.0])]
        )
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
        alarm_id = await raised_alarm(alarm_api(channel, signer), a)

    payload = await open_ticket(a_owner, body="Machine M-1 looks stuck")
    taken = payload["snapshot"]
    devices = data(await a_owner.query(DEVICES))["devices"]

    assert [(d["deviceId"], d["lastPointAt"], d["lastBatchAt"]) for d in taken["devices"]] == [
        (d["id"], d["lastPointAt"], d["lastBatchAt"]) for d in devices
    ]
    device = taken["devices"][0]
    assert parse_timestamp(device["lastPointAt"]) == now
    assert (device["storedBatches"], device["refusedBatches"], device["points"]) == (2, 1, 2)
    assert taken["ingestErrorRate"] == pytest.approx(1 / 3) and taken["conflictRate"] == 0
    assert [x["alarmId"] for x in taken["recentAlarms"]] == [alarm_id] and taken[
        "telemetryUnavailable"
    ] is None
    stored = data(await s.client.query(TICKET, id=payload["ticket"]["id"]))["ticket"]["snapshot"]
    assert stored == taken, "the supplier reads the snapshot as it was taken"


async def test_a_ticket_moves_through_its_flow_timed_against_the_plans_service_level(served):
    s, _, _, a_owner, _ = served
    ticket = (await open_ticket(a_owner, subject="Alarm storm on line 1"))["ticket"]
    created = parse_timestamp(ticket["createdAt"])
    assert ticket["status"] == "OPEN" and ticket["firstResponseAt"] is None
    # The standard plan answers within 8 hours and resolves within 72 (tenants/plans.yaml).
    assert parse_timestamp(ticket["responseDueAt"]) - created == 8 * HOUR_NS
    assert parse_timestamp(ticket["resolutionDueAt"]) - created == 72 * HOUR_NS

    async def move(client, status):
        return data(await client.query(SET_STATUS, id=ticket["id"], status=status))["setTicketStatus"]

    refused = await a_owner.query(SET_STATUS, id=ticket["id"], status="IN_PROGRESS")
    assert error_codes(refused) == {"FORBIDDEN"}, "taking a ticket up is the supplier's move"
    answered = data(await s.client.query(COMMENT, id=ticket["id"], body="Looking into it"))["commentTicket"]
    responded = parse_timestamp(answered["ticket"]["firstResponseAt"])
    assert created < responded and answered["ticket"]["responseBreached"] is False
    assert (await move(s.client, "IN_PROGRESS"))["ticket"]["status"] == "IN_PROGRESS"
    assert (await move(s.client, "WAITING_ON_CUSTOMER"))["ticket"]["status"] == "WAITING_ON_CUSTOMER"
    assert (await move(a_owner, "IN_PROGRESS"))["ticket"]["status"] == "IN_PROGRESS"
    resolved = (await move(s.client, "RESOLVED"))["ticket"]
    assert parse_timestamp(resolved["resolvedAt"]) >= responded and resolved["resolutionBreached"] is False
    bad = await move(s.client, "WAITING_ON_CUSTOMER")
    assert bad["ticket"] is None and bad["errors"] == [
        {
            "field": None,
            "code": "BAD_TRANSITION",
            "message": "a ticket that is resolved cannot become waiting_on_customer; it can become closed, in_progress",
        }
    ]
    closed = (await move(a_owner, "CLOSED"))["ticket"]
    assert (
        closed["status"] == "CLOSED" and closed["resolvedAt"] == resolved["resolvedAt"] and closed["closedAt"]
    )
    final = await move(s.client, "IN_PROGRESS")
    assert (
        final["errors"][0]["code"] == "BAD_TRANSITION" and "closed is final" in final["errors"][0]["message"]
    )
    late = data(await a_owner.query(COMMENT, id=ticket["id"], body="thanks"))["commentTicket"]
    assert late["errors"][0]["code"] == "TICKET_CLOSED"
    history = data(await a_owner.query(TICKET, id=ticket["id"]))["ticket"]["history"]
    assert [(h["side"], h["kind"], h["toStatus"]) for h in history] == [
        ("customer", "opened", None),
        ("supplier", "comment", None),
        ("supplier", "status", "IN_PROGRESS"),
        ("supplier", "status", "WAITING_ON_CUSTOMER"),
        ("customer", "status", "IN_PROGRESS"),
        ("supplier", "status", "RESOLVED"),
        ("customer", "status", "CLOSED"),
    ]


async def test_other_tenants_and_other_suppliers_see_no_ticket_of_a(served):
    s, t, _, a_owner, b_owner = served
    ticket = (await open_ticket(a_owner, subject="Private to A"))["ticket"]
    for outsider in (b_owner, t.client):
        assert error_codes(await outsider.query(TICKET, id=ticket["id"])) == {"NOT_FOUND"}
        listed = data(await outsider.query("{ tickets { id } }"))["tickets"]
        assert ticket["id"] not in {x["id"] for x in listed}
        comment = data(await outsider.query(COMMENT, id=ticket["id"], body="hi"))["commentTicket"]
        assert [e["code"] for e in comment["errors"]] == ["TICKET_NOT_FOUND"]
        moved = data(await outsider.query(SET_STATUS, id=ticket["id"], status="CLOSED"))["setTicketStatus"]
        assert [e["code"] for e in moved["errors"]] == ["TICKET_NOT_FOUND"]
    assert ticket["id"] in {x["id"] for x in data(await s.client.query("{ tickets { id } }"))["tickets"]}


async def test_bad_ticket_input_is_refused_with_the_field(served):
    _, _, _, a_owner, _ = served
    long = data(
        await a_owner.query(
            "mutation($s: String!) { openTicket(subject: $s) { ticket { id } errors { field code message } } }",
            s="x" * 201,
        )
    )["openTicket"]
    assert long == {
        "ticket": None,
        "errors": [
            {"field": "subject", "code": "INVALID_ARGUMENT", "message": "must be 1 to 200 characters"}
        ],
    }
    unknown = data(await a_owner.query(COMMENT, id="not-a-uuid", body="hi"))["commentTicket"]
    assert unknown["errors"][0]["field"] == "ticketId"


async def test_a_tenant_without_a_supplier_is_told_to_find_one(stack, signer):
    alone = await create_tenant(stack.targets["tenancy"], signer, "No supplier")
    client = await owner_client(stack, alone)
    try:
        answer = data(await client.query('mutation { openTicket(subject: "help") { errors { code } } }'))
    finally:
        await client.close()
    assert answer["openTicket"]["errors"] == [{"code": "NO_SUPPLIER"}]


async def test_a_ticket_still_opens_when_device_telemetry_cannot_be_read(admin_url, signer, served):
    """Help is most needed when something is down: the snapshot keeps the devices and says what it could not
    read (tenancy's ticket rules over the real database, with analytics unreachable)."""
    _, _, a, _, _ = served
    db = Database(role_url(admin_url, "sf_tenancy", None), name="test-tickets")
    dead = open_channel("127.0.0.1:1")
    telemetry = AnalyticsDeviceTelemetry(query_pb2_grpc.QueryServiceStub(dead), CallerIdentity(signer))
    owner = Principal(Kind.USER, str(uuid.uuid4()), tenant_id=a.id, role=Role.OWNER)
    await db.open()
    try:
        ticket, taken = await Tickets(db, telemetry, MailOutbox(db, LogMailer(), "http://sf.test")).open(
            owner, "Everything is down", ""
        )
    finally:
        await db.close()
        await dead.close()
    assert ticket.status == "open" and [d.name for d in taken.devices] == ["edge-1"]
    assert taken.devices[0].last_batch_ns == 0
    assert taken.telemetry_unavailable.startswith("device telemetry could not be read")


def test_a_ticket_is_breached_once_its_answer_is_late_or_overdue():
    opened = datetime(2026, 3, 2, 9, tzinfo=UTC)
    due = opened + timedelta(hours=8)
    ticket = Ticket(
        uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), "s", "", "open", "u", opened, due, None, None, None, None
    )
    assert not ticket.response_breached(due) and ticket.response_breached(due + timedelta(seconds=1))
    answered_late = replace(ticket, first_response_at=due + timedelta(minutes=5))
    assert answered_late.response_breached(due + timedelta(days=30))
    assert not replace(ticket, first_response_at=due).response_breached(due + timedelta(days=30))
    assert not replace(ticket, response_due_at=None).response_breached(due + timedelta(days=30)), "no promise"
