"""The supplier directory end to end through GraphQL with the real stack: the track record matches the
platform's records and no supplier can write it, search and filters, and requests accepted or declined."""

from __future__ import annotations

import secrets
import statistics
import uuid

import grpc
import pytest

from gateway.graphql.scalars import parse_timestamp
from services.runtime.principal import Kind, Principal, Role
from services.runtime.tokens import service_principal
from sf.seeding import create_tenant
from sfcloud.v1 import directory_pb2, directory_pb2_grpc, tenancy_pb2, tenancy_pb2_grpc
from tests.control_plane import OPERATOR, Tenancy
from tests.support.helpers import COMMENT, data, error_codes, open_ticket, owner_client, supplier

RECORD = (
    "query($id: ID!) { supplier(id: $id) { name trackRecord { activeTenants assessedTenants averageLevelGain"
    " answeredTickets medianFirstResponseSeconds } } }"
)
UPDATE = (
    "mutation($profile: SupplierProfileInput!) { updateSupplierProfile(profile: $profile) {"
    " supplier { id profile { specialties regions summary keyStaff { role count } } } errors { field code message } } }"
)
SEARCH = (
    "query($specialty: String!, $industry: String!, $region: String!, $text: String!, $first: Int!, $after: String)"
    " { suppliers(specialty: $specialty, industry: $industry, region: $region, text: $text, first: $first,"
    " after: $after) { suppliers { name profile { specialties } } nextCursor } }"
)
REQUESTS = "{ supplierRequests { id tenantName supplierName message state decidedAt decisionNote previousSupplierId } }"


async def record_levels(stack, signer, tenant_id: uuid.UUID, levels: dict[str, int]) -> None:
    """Days' levels of a tenant, recorded as analytics records them after each assessment."""
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
        directory = Tenancy(directory_pb2_grpc.DirectoryServiceStub(channel), signer)
        for day, level in levels.items():
            request = directory_pb2.RecordLevelRequest(day=day, level=level)
            await directory.call("RecordLevel", request, service_principal("analytics", tenant_id))


async def test_the_track_record_is_computed_from_tenants_levels_and_tickets(stack, signer):
    s = await supplier(stack, signer, "Record S")
    first = await create_tenant(stack.targets["tenancy"], signer, "Record 1", supplier_id=s.id)
    second = await create_tenant(stack.targets["tenancy"], signer, "Record 2", supplier_id=s.id)
    gone = await create_tenant(stack.targets["tenancy"], signer, "Record gone", supplier_id=s.id)
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
        tenancy = Tenancy(tenancy_pb2_grpc.TenancyServiceStub(channel), signer)
        state = tenancy_pb2.SUBSCRIPTION_STATE_SUSPENDED
        request = tenancy_pb2.SetSubscriptionStateRequest(tenant_id=str(gone.id), state=state)
        await tenancy.call("SetSubscriptionState", request, OPERATOR)
    await record_levels(stack, signer, first.id, {"2026-01-05": 1, "2026-02-01": 2, "2026-03-01": 3})
    await record_levels(stack, signer, second.id, {"2026-01-01": 0})
    await record_levels(stack, signer, gone.id, {"2026-01-01": 0, "2026-02-01": 5})  # suspended: not counted
    owner = await owner_client(stack, second)
    try:  # the second tenant's assessment today, through the API: analytics records it in tenancy
        today = data(await owner.query("{ smartFactoryLevel { level } }"))["smartFactoryLevel"]["level"]
        tickets = [(await open_ticket(owner, subject=f"Question {i}"))["ticket"]["id"] for i in range(4)]
        for ticket_id in tickets[:3]:  # three answered, one not yet
            assert (
                data(await s.client.query(COMMENT, id=ticket_id, body="On it"))["commentTicket"]["errors"]
                == []
            )
        waits = []
        for ticket_id in tickets[:3]:
            found = data(
                await owner.query(
                    "query($id: ID!) { ticket(id: $id) { ticket { createdAt firstResponseAt } } }",
                    id=ticket_id,
                )
            )
            times = found["ticket"]["ticket"]
            waits.append(
                (parse_timestamp(times["firstResponseAt"]) - parse_timestamp(times["createdAt"])) / 1e9
            )
        record = data(await owner.query(RECORD, id=s.id))["supplier"]["trackRecord"]
    finally:
        await owner.close()
        await s.client.close()
    assert record["activeTenants"] == 2 and record["assessedTenants"] == 2
    assert record["averageLevelGain"] == pytest.approx(((3 - 1) + (today - 0)) / 2)
    assert record["answeredTickets"] == 3
    assert record["medianFirstResponseSeconds"] == pytest.approx(statistics.median(waits), abs=1e-3)


async def test_no_supplier_can_write_its_track_record(stack, signer):
    s = await supplier(stack, signer, "Honest S")
    try:
        forged = await s.client.query(
            'mutation { updateSupplierProfile(profile: {summary: "best", trackRecord: {activeTenants: 999}})'
            " { errors { code } } }"
        )
        assert error_codes(forged) == {"BAD_USER_INPUT"}
        record = data(await s.client.query(RECORD, id=s.id))["supplier"]["trackRecord"]
    finally:
        await s.client.close()
    assert record == {
        "activeTenants": 0,
        "assessedTenants": 0,
        "averageLevelGain": None,
        "answeredTickets": 0,
        "medianFirstResponseSeconds": None,
    }
    staff = Principal(Kind.USER, str(uuid.uuid4()), supplier_id=uuid.UUID(s.id))
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Levels", supplier_id=s.id)
    owner = Principal(Kind.USER, str(uuid.uuid4()), tenant_id=tenant.id, role=Role.OWNER)
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
        directory = Tenancy(directory_pb2_grpc.DirectoryServiceStub(channel), signer)
        for who in (staff, owner, service_principal("gateway", tenant.id)):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await directory.call(
                    "RecordLevel", directory_pb2.RecordLevelRequest(day="2026-01-01", level=5), who
                )
            assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_suppliers_are_searched_by_specialty_industry_region_and_text_a_page_at_a_time(stack, signer):
    region = f"gyeonggi-{secrets.token_hex(3)}"  # only this test's suppliers are in it
    profiles = {
        "Alpha": {
            "specialties": ["PLC Retrofit", "MES"],
            "industries": ["injection moulding"],
            "summary": "Moulding lines",
        },
        "Beta": {
            "specialties": ["mes"],
            "industries": ["food processing"],
            "summary": "HACCP and traceability",
        },
        "Gamma": {
            "specialties": ["Vision inspection"],
            "industries": ["injection moulding"],
            "summary": "Cameras",
        },
    }
    accounts = {}
    for name, profile in profiles.items():
        accounts[name] = account = await supplier(stack, signer, name)
        profile = {**profile, "regions": [region.upper()], "keyStaff": [{"role": "PLC engineer", "count": 3}]}
        saved = data(await account.client.query(UPDATE, profile=profile))["updateSupplierProfile"]
        assert saved["errors"] == [] and saved["supplier"]["profile"]["regions"] == [region]
    reader = accounts["Alpha"].client

    async def names(**filters) -> list[str]:
        wanted = {
            "specialty": "",
            "industry": "",
            "region": region,
            "text": "",
            "first": 20,
            "after": None,
        } | filters
        found = data(await reader.query(SEARCH, **wanted))["suppliers"]["suppliers"]
        return [s["name"].split()[0] for s in found]

    try:
        assert await names() == ["Alpha", "Beta", "Gamma"]
        assert await names(specialty=" MES ") == ["Alpha", "Beta"]
        assert await names(industry="Injection Moulding") == ["Alpha", "Gamma"]
        assert await names(specialty="mes", industry="food processing") == ["Beta"]
        assert await names(text="haccp") == ["Beta"] and await names(text="vision") == ["Gamma"]
        assert await names(text="100%") == []
        pages, after = [], None
        while True:
            page = data(
                await reader.query(
                    SEARCH, specialty="", industry="", region=region, text="", first=1, after=after
                )
            )
            pages += [s["name"].split()[0] for s in page["suppliers"]["suppliers"]]
            after = page["suppliers"]["nextCursor"]
            if after is None:
                break
        assert pages == ["Alpha", "Beta", "Gamma"]
        too_long = data(await reader.query(UPDATE, profile={"summary": "x" * 2001}))["updateSupplierProfile"]
        assert too_long["errors"] == [
            {"field": "summary", "code": "INVALID_ARGUMENT", "message": "must be at most 2000 characters"}
        ]
        nul = "a\x00b"  # PostgreSQL text cannot hold it: refused by name, never INTERNAL (schemathesis found it)
        for field in ("specialty", "industry", "region", "text"):
            searched = await reader.query(
                SEARCH,
                **({"specialty": "", "industry": "", "region": region, "text": ""} | {field: nul}),
                first=1,
            )
            assert error_codes(searched) == {"BAD_USER_INPUT"}, field
        nul_summary = data(await reader.query(UPDATE, profile={"summary": nul}))["updateSupplierProfile"]
        assert nul_summary["errors"] == [
            {
                "field": "summary",
                "code": "INVALID_ARGUMENT",
                "message": "must not contain the NUL character (U+0000)",
            }
        ]
        bad_staff = data(await reader.query(UPDATE, profile={"keyStaff": [{"role": "", "count": 1}]}))
        assert bad_staff["updateSupplierProfile"]["errors"][0]["field"] == "keyStaff.role"
        unknown = await reader.query(RECORD, id=str(uuid.uuid4()))
        assert error_codes(unknown) == {"NOT_FOUND"}
    finally:
        for account in accounts.values():
            await account.client.close()


async def test_only_a_suppliers_admins_edit_its_profile(stack, signer):
    staff = await supplier(stack, signer, "Staffed", role="staff")
    try:
        answer = await staff.client.query(UPDATE, profile={"summary": "not mine to say"})
    finally:
        await staff.client.close()
    assert error_codes(answer) == {"FORBIDDEN"}


async def test_a_tenant_requests_a_supplier_which_accepts_or_declines(stack, signer, admin_conn):
    s = await supplier(stack, signer, "Welcoming S")
    t = await supplier(stack, signer, "Busy T")
    joining = await create_tenant(stack.targets["tenancy"], signer, "Joining")
    refused = await create_tenant(stack.targets["tenancy"], signer, "Refused")
    joining_owner, refused_owner = await owner_client(stack, joining), await owner_client(stack, refused)
    ask = "mutation($id: ID!, $m: String!) { requestSupplier(supplierId: $id, message: $m) { requestId errors { code } } }"
    try:
        unknown = data(await joining_owner.query(ask, id=str(uuid.uuid4()), m="hi"))["requestSupplier"]
        assert unknown == {"requestId": None, "errors": [{"code": "SUPPLIER_NOT_FOUND"}]}
        asked = data(await joining_owner.query(ask, id=s.id, m="We run 12 presses"))["requestSupplier"][
            "requestId"
        ]
        declined = data(await refused_owner.query(ask, id=t.id, m="Help?"))["requestSupplier"]["requestId"]
        to_s = data(await s.client.query(REQUESTS))["supplierRequests"]
        assert [(r["id"], r["message"], r["state"]) for r in to_s] == [
            (asked, "We run 12 presses", "REQUESTED")
        ]
        assert to_s[0]["tenantName"].startswith("Joining")
        assert data(
            await t.client.query(
                "mutation($id: ID!) { acceptSupplierRequest(id: $id) { done errors { code } } }", id=asked
            )
        )["acceptSupplierRequest"] == {"done": False, "errors": [{"code": "TRANSFER_NOT_FOUND"}]}
        accepted = data(
            await s.client.query(
                "mutation($id: ID!) { acceptSupplierRequest(id: $id) { done errors { code } } }", id=asked
            )
        )["acceptSupplierRequest"]
        assert accepted == {"done": True, "errors": []}
        no = data(
            await t.client.query(
                'mutation($id: ID!) { declineSupplierRequest(id: $id, note: "Fully booked until May") { done } }',
                id=declined,
            )
        )["declineSupplierRequest"]
        assert no == {"done": True}
        mine = data(await joining_owner.query(REQUESTS))["supplierRequests"]
        theirs = data(await refused_owner.query(REQUESTS))["supplierRequests"]
        assert [(r["state"], r["supplierName"]) for r in mine] == [("ACCEPTED", s.name)]
        assert [(r["state"], r["decisionNote"]) for r in theirs] == [("DECLINED", "Fully booked until May")]
        assert theirs[0]["decidedAt"] and theirs[0]["previousSupplierId"] is None
        assert (await open_ticket(joining_owner, subject="Now that you serve us"))["ticket"][
            "status"
        ] == "OPEN"
        refused_ticket = data(
            await refused_owner.query('mutation { openTicket(subject: "x") { errors { code } } }')
        )
        assert refused_ticket["openTicket"]["errors"] == [{"code": "NO_SUPPLIER"}]
    finally:
        for client in (joining_owner, refused_owner, s.client, t.client):
            await client.close()
    audited = admin_conn.execute(
        "SELECT action, supplier_id::text FROM tenancy.audit_log WHERE target IN (%s, %s) ORDER BY id",
        [asked, declined],
    ).fetchall()
    assert audited == [
        ("supplier.transfer_request", s.id),
        ("supplier.transfer_request", t.id),
        ("supplier.transfer_accept", s.id),
        ("supplier.transfer_decline", t.id),
    ]
