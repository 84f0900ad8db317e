"""Who sees a supplier's staff and its open invitations (ListSupplierStaff, ListSupplierInvitations and their
GraphQL fields): any of its staff the list, only its admins the invitations, the operator any supplier's by
naming it; another supplier's admin and a tenant's people none of it."""

from __future__ import annotations

import secrets
import uuid

import grpc
import pytest

from services.runtime.principal import Kind, Principal
from sf.seeding import create_tenant
from sfcloud.v1 import tenancy_pb2 as pb
from tests.control_plane import OPERATOR, Tenancy
from tests.e2e.provision import GraphQLClient
from tests.support.helpers import data, owner_client, supplier, supplier_user

STAFF = "query($s: ID) { supplierStaff(supplierId: $s) { nodes { email displayName role } } }"
INVITATIONS = "query($s: ID) { supplierInvitations(supplierId: $s) { email role createdAt expiresAt } }"
INVITE = "mutation($e: String!) { inviteStaff(email: $e, role: ADMIN) { invitationId errors { code } } }"


async def _member(tenancy: Tenancy, supplier_id: str, role: str, email: str) -> Principal:
    """A new person on the supplier's staff with ``role``, as the gateway mints them after sign-in."""
    request = pb.CreateSupplierUserRequest(
        supplier_id=supplier_id, email=email, password="p" * 12, display_name=role.title(), role=role
    )
    made = await tenancy.call("CreateSupplierUser", request, OPERATOR)
    return Principal(Kind.USER, made.user.id, supplier_id=uuid.UUID(supplier_id))


async def _refused(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await call
    return refused.value.code(), refused.value.details()


async def test_staff_see_the_staff_admins_the_invitations_and_other_suppliers_nothing(tenancy):
    s, s_admin = await tenancy.supplier("Staff S")
    _, t_admin = await tenancy.supplier("Staff T")
    s_staff = await _member(tenancy, s.id, "staff", f"b-{secrets.token_hex(4)}@s.example")
    invited = f"invited-{secrets.token_hex(4)}@s.example"
    asked = pb.InviteSupplierUserRequest(supplier_id=s.id, email=invited, role="staff")
    await tenancy.call("InviteSupplierUser", asked, s_admin)
    everyone = pb.ListSupplierStaffRequest(supplier_id=s.id)

    seen = (await tenancy.call("ListSupplierStaff", pb.ListSupplierStaffRequest(), s_staff)).staff
    assert sorted((m.user_id, m.role) for m in seen) == sorted(
        [(s_admin.subject, "admin"), (s_staff.subject, "staff")]
    )
    assert (await tenancy.call("ListSupplierStaff", everyone, OPERATOR)).staff == seen
    [waiting] = (
        await tenancy.call("ListSupplierInvitations", pb.ListSupplierInvitationsRequest(), s_admin)
    ).invitations
    assert (waiting.email, waiting.role, waiting.invited_by) == (invited, "staff", s_admin.subject)
    assert round((waiting.expires_ns - waiting.created_ns) / 86_400e9) == 7  # the link works for a week
    as_operator = pb.ListSupplierInvitationsRequest(supplier_id=s.id)
    assert (await tenancy.call("ListSupplierInvitations", as_operator, OPERATOR)).invitations == [waiting]

    # S's staff without admin see no invitations; T's admin, naming S, gets what a supplier that does not exist
    # gets; T's own lists hold nothing of S's; a tenant's owner is no supplier's staff.
    code, _ = await _refused(
        tenancy.call("ListSupplierInvitations", pb.ListSupplierInvitationsRequest(), s_staff)
    )
    assert code is grpc.StatusCode.PERMISSION_DENIED
    nowhere = str(uuid.uuid4())
    for method, message in (
        ("ListSupplierStaff", pb.ListSupplierStaffRequest),
        ("ListSupplierInvitations", pb.ListSupplierInvitationsRequest),
    ):
        naming_s = await _refused(tenancy.call(method, message(supplier_id=s.id), t_admin))
        assert naming_s == await _refused(tenancy.call(method, message(supplier_id=nowhere), t_admin))
        assert naming_s[0] is grpc.StatusCode.PERMISSION_DENIED
        code, _ = await _refused(tenancy.call(method, message(supplier_id=nowhere), OPERATOR))
        assert code is grpc.StatusCode.NOT_FOUND
        code, _ = await _refused(tenancy.call(method, message(), OPERATOR))  # the operator names one
        assert code is grpc.StatusCode.INVALID_ARGUMENT
    [t_only] = (await tenancy.call("ListSupplierStaff", pb.ListSupplierStaffRequest(), t_admin)).staff
    assert t_only.user_id == t_admin.subject
    assert not (
        await tenancy.call("ListSupplierInvitations", pb.ListSupplierInvitationsRequest(), t_admin)
    ).invitations
    _, owner = await tenancy.tenant(OPERATOR, supplier_id=s.id)
    code, _ = await _refused(tenancy.call("ListSupplierStaff", everyone, owner))
    assert code is grpc.StatusCode.PERMISSION_DENIED


async def test_the_staff_list_comes_a_page_at_a_time_by_email(tenancy):
    s, admin = await tenancy.supplier("Staff pages")
    tag = secrets.token_hex(3)
    for name in ("Carol", "alice", "Bob"):
        await _member(tenancy, s.id, "staff", f"{name}-{tag}@s.example")
    pages, token = [], ""
    while True:
        request = pb.ListSupplierStaffRequest(page_size=2, page_token=token)
        answer = await tenancy.call("ListSupplierStaff", request, admin)
        pages.append([m.email.split("-")[0] for m in answer.staff])
        if not (token := answer.next_page_token):
            break
    assert pages == [["admin", "alice"], ["Bob", "Carol"]]
    code, _ = await _refused(
        tenancy.call("ListSupplierStaff", pb.ListSupplierStaffRequest(page_token="x"), admin)
    )
    assert code is grpc.StatusCode.INVALID_ARGUMENT


async def test_over_graphql_an_invitation_is_listed_for_admins_only(stack, signer):
    mine = await supplier(stack, signer, "GraphQL staff SI")
    other = await supplier(stack, signer, "GraphQL other SI")
    staff_email, password = await supplier_user(stack, signer, mine.id, "staff", "Min")
    staff = await GraphQLClient.login(stack.gateway_url, staff_email, password)
    tenant = await create_tenant(stack.targets["tenancy"], signer, "GraphQL staff SME", supplier_id=mine.id)
    owner = await owner_client(stack, tenant)
    email = f"joining-{secrets.token_hex(4)}@si.example"
    try:
        assert data(await mine.client.query(INVITE, e=email))["inviteStaff"]["errors"] == []
        [listed] = data(await mine.client.query(INVITATIONS))["supplierInvitations"]
        people = data(await staff.query(STAFF))["supplierStaff"]["nodes"]
        staff_invitations = await staff.query(INVITATIONS)
        others = [await other.client.query(query, s=mine.id) for query in (STAFF, INVITATIONS)]
        own_of_other = data(await other.client.query(STAFF))["supplierStaff"]["nodes"]
        tenants = [await owner.query(query, s=mine.id) for query in (STAFF, INVITATIONS)]
    finally:
        for client in (staff, owner, mine.client, other.client):
            await client.close()
    assert (listed["email"], listed["role"]) == (email, "ADMIN")
    assert sorted((p["email"], p["role"]) for p in people) == sorted(
        [(mine.email, "ADMIN"), (staff_email, "STAFF")]
    )
    assert _codes(staff_invitations) == [("FORBIDDEN", "NOT_ADMIN")]
    assert [_codes(answer) for answer in others] == [[("FORBIDDEN", "OTHER_SUPPLIER")]] * 2
    assert [p["email"] for p in own_of_other] == [other.email]
    assert all(_codes(answer) == [("FORBIDDEN", None)] and answer["data"] is None for answer in tenants)


def _codes(answer: dict) -> list[tuple[str, str | None]]:
    return [(e["extensions"]["code"], e["extensions"].get("reason")) for e in answer.get("errors") or []]
