"""RELIABILITY I4: PostgreSQL checks unique and foreign keys past row-level security, so
a unique key that leaves out `tenant_id` would tell tenant A that a value exists in tenant B. Every unique key
of a tenant table includes `tenant_id`, except on values the server makes at random (below); and what A sends
that collides with B, or points at B's objects, gets an answer that says nothing about B. Adding a user by
the email of B's account answers as for a new email (users are one table across tenants: their email is
unique platform-wide), whether a tenant adds a member or a supplier its staff.
"""

from __future__ import annotations

import statistics
import time
import uuid

import grpc

from sfcloud.v1 import tenancy_pb2 as pb
from tests.control_plane import OPERATOR, rejected

# Unique across tenants on purpose: each value is made by the server, at random or in sequence, never chosen
# by a tenant, so a collision cannot be provoked to learn anything.
SERVER_MADE = {
    "tenancy.api_keys (prefix)": "12 random characters, the lookup prefix of an API key",
    "tenancy.devices (credential_prefix)": "random, the lookup prefix of a device credential",
    "tenancy.invitations (token_hash)": "SHA-256 of a random invitation token",
    "tenancy.invitations (id)": "a random UUID (a supplier's invitations have no tenant_id to key on)",
    "tenancy.data_grants (id)": "a random UUID",
    "tenancy.audit_log (id)": "the audit log's own sequence",
    "tenancy.mail_outbox (id)": "the mail outbox's own sequence",
}
LEAKS = ("violates", "constraint", "duplicate key", "DETAIL", "Key (")


def test_every_unique_key_of_a_tenant_table_includes_the_tenant(admin_conn):
    rows = admin_conn.execute(
        """SELECT format('%s (%s)', t.oid::regclass,
                         (SELECT string_agg(a.attname, ', ' ORDER BY a.attnum) FROM pg_attribute a
                           WHERE a.attrelid = t.oid AND a.attnum = ANY(i.indkey)))
             FROM pg_index i
             JOIN pg_class t ON t.oid = i.indrelid
             JOIN pg_namespace n ON n.oid = t.relnamespace
            WHERE i.indisunique AND t.relkind IN ('r', 'p')
              AND n.nspname IN ('tenancy', 'telemetry', 'analytics')
              AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attname = 'tenant_id')
              AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = t.oid
                                AND a.attname = 'tenant_id' AND a.attnum = ANY(i.indkey))"""
    ).fetchall()
    assert {r[0] for r in rows} == set(SERVER_MADE)


def _pointing_at(target: str) -> list[tuple[str, object]]:
    return [
        ("CreateAsset", pb.CreateAssetRequest(parent_id=target, kind=pb.ASSET_KIND_LINE, name="L")),
        ("CreateSeries", pb.CreateSeriesRequest(machine_id=target, name="t", unit="", kind="gauge")),
        ("UpdateAsset", pb.UpdateAssetRequest(asset_id=target, name="mine")),
        ("DeleteAsset", pb.DeleteAssetRequest(asset_id=target)),
    ]


async def _answers(tenancy, principal, calls) -> list[tuple[str, str]]:
    answers = []
    for method, request in calls:
        error = await rejected(tenancy.call(method, request, principal))
        answers.append((error.code().name, error.details()))
    return answers


async def test_colliding_with_or_pointing_at_another_tenant_reveals_nothing(tenancy):
    _, a = await tenancy.tenant(OPERATOR)
    _, b = await tenancy.tenant(OPERATOR)
    site = pb.CreateAssetRequest(kind=pb.ASSET_KIND_SITE, name="Plant Seoul")
    b_site = (await tenancy.call("CreateAsset", site, b)).asset
    assert (await tenancy.call("CreateAsset", site, a)).asset.name == "Plant Seoul"  # B's name is free in A
    at_b = await _answers(tenancy, a, _pointing_at(b_site.id))
    assert at_b == await _answers(tenancy, a, _pointing_at(str(uuid.uuid4())))  # as if B's site did not exist
    assert {code for code, _ in at_b} == {"NOT_FOUND"}
    again = await rejected(tenancy.call("CreateAsset", site, a))  # a collision inside A: named, not leaked
    assert again.code() is grpc.StatusCode.ALREADY_EXISTS
    assert [text for _, text in [*at_b, ("", again.details())] if any(leak in text for leak in LEAKS)] == []


async def test_another_tenants_object_answers_as_fast_as_one_that_does_not_exist(tenancy):
    """RELIABILITY I4 (the timing half): pointing at B's site and at a random id, 200 times each and
    interleaved, take the same time: the medians differ by less than 5 ms."""
    _, a = await tenancy.tenant(OPERATOR)
    _, b = await tenancy.tenant(OPERATOR)
    b_site = (
        await tenancy.call("CreateAsset", pb.CreateAssetRequest(kind=pb.ASSET_KIND_SITE, name="B"), b)
    ).asset
    seconds: dict[str, list[float]] = {"b": [], "nowhere": []}
    for n in range(400):
        which = ("b", "nowhere")[n % 2]
        target = b_site.id if which == "b" else str(uuid.uuid4())
        for method, request in _pointing_at(target)[2:3]:  # UpdateAsset: a lookup by id under RLS
            started = time.perf_counter()
            await rejected(tenancy.call(method, request, a))
            seconds[which].append(time.perf_counter() - started)
    medians = {which: statistics.median(s) * 1000 for which, s in seconds.items()}
    assert abs(medians["b"] - medians["nowhere"]) < 5, medians


def _shape(answer) -> list[str]:
    """An invitation's answer as far as its caller can tell answers apart: the fields it holds; the id,
    new every time, must be well-formed."""
    uuid.UUID(answer.invitation_id)
    return [field.name for field, _ in answer.ListFields()]


async def _elsewhere_and_new(tenancy, caller, method: str, request_for, account_email: str) -> dict:
    """100 calls of ``method`` by ``caller`` (``request_for(email)``) with ``account_email`` and 100 with new
    emails, interleaved: each OK, with the same answer shape either way; the medians in ms."""
    seconds: dict[str, list[float]] = {"elsewhere": [], "new": []}
    shapes: dict[str, set] = {"elsewhere": set(), "new": set()}
    for n in range(200):
        which = ("elsewhere", "new")[n % 2]
        request = request_for(
            account_email if which == "elsewhere" else f"new-{uuid.uuid4().hex[:8]}@example.com"
        )
        started = time.perf_counter()
        call = tenancy.call(method, request, caller)
        answer = await call
        seconds[which].append(time.perf_counter() - started)
        assert await call.code() is grpc.StatusCode.OK
        shapes[which].add(repr(_shape(answer)))
    assert shapes["elsewhere"] == shapes["new"] and len(shapes["new"]) == 1, shapes
    return {which: statistics.median(s) * 1000 for which, s in seconds.items()}


async def _account_of(tenancy, tenant_id: str) -> str:
    """The email of a new account, a member of the tenant."""
    elsewhere = f"in-b-{uuid.uuid4().hex[:8]}@example.com"
    made = pb.CreateUserRequest(email=elsewhere, password="p" * 12, display_name="B's", role=pb.ROLE_VIEWER)
    await tenancy.provision(tenant_id, made)
    return elsewhere


async def test_inviting_an_email_that_has_an_account_elsewhere_answers_as_a_new_one(tenancy):
    """RELIABILITY I4: tenant A's owner inviting by email an account of B's and a new email, 100 times each
    and interleaved: the same status and answer, and the medians within 5 ms (what follows is alike too:
    tests/tenancy/test_identity.py)."""
    _, a = await tenancy.tenant(OPERATOR, plan="enterprise")  # room for the 200 invitations
    b, _ = await tenancy.tenant(OPERATOR)
    medians = await _elsewhere_and_new(
        tenancy,
        a,
        "InviteUser",
        lambda email: pb.InviteUserRequest(email=email, role=pb.ROLE_VIEWER),
        await _account_of(tenancy, b.id),
    )
    print(f"I4 InviteUser medians over 100 each: {medians}")
    assert abs(medians["elsewhere"] - medians["new"]) < 5, medians


async def test_inviting_supplier_staff_by_an_email_that_has_an_account_answers_as_a_new_one(tenancy):
    """RELIABILITY I4: a supplier's admin inviting staff by the email of a tenant's member and by new
    emails, 100 times each and interleaved: the same status and answer, and the medians within 5 ms."""
    supplier, admin = await tenancy.supplier("I4 staff")
    b, _ = await tenancy.tenant(OPERATOR)
    medians = await _elsewhere_and_new(
        tenancy,
        admin,
        "InviteSupplierUser",
        lambda email: pb.InviteSupplierUserRequest(supplier_id=supplier.id, email=email, role="staff"),
        await _account_of(tenancy, b.id),
    )
    print(f"I4 InviteSupplierUser medians over 100 each: {medians}")
    assert abs(medians["elsewhere"] - medians["new"]) < 5, medians
