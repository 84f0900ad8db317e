"""API keys and device credentials: shown once, stored hashed, scoped, revocable, rotatable;
quotas from the plan refuse the one too many with a specific error and create nothing."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest

from services.runtime.tokens import service_principal
from sf.seeding import send_batches
from sfcloud.v1 import tenancy_pb2 as pb
from tests.control_plane import OPERATOR, rejected
from tests.e2e.test_bad_input import batch
from tests.tenancy.test_subscriptions import _machine

GATEWAY = service_principal("gateway")


async def test_an_api_key_is_shown_once_stored_hashed_and_revocable(tenancy, admin_conn):
    """RELIABILITY A5: Shown once, stored as a hash beside its prefix, revocable, audited."""
    tenant, owner = await tenancy.tenant(OPERATOR)
    created = await tenancy.call(
        "CreateApiKey", pb.CreateApiKeyRequest(name="ci", scopes=["read", "ingest"]), owner
    )
    key = created.key
    assert key.startswith(f"sfk_{created.api_key.prefix}_")
    rows = admin_conn.execute(
        "SELECT key_hash, prefix FROM tenancy.api_keys WHERE id = %s", [created.api_key.id]
    ).fetchall()
    assert len(rows) == 1 and key.encode() not in bytes(rows[0][0]) and rows[0][1] == created.api_key.prefix
    dump = admin_conn.execute("SELECT string_agg(t::text, ' ') FROM tenancy.api_keys t").fetchone()[0]
    assert key not in dump
    listed = (await tenancy.call("ListApiKeys", pb.ListApiKeysRequest(), owner)).api_keys
    assert [(k.name, list(k.scopes), k.revoked) for k in listed] == [("ci", ["ingest", "read"], False)]
    resolved = await tenancy.call("AuthenticateApiKey", pb.AuthenticateApiKeyRequest(key=key), GATEWAY)
    assert (resolved.tenant_id, sorted(resolved.scopes)) == (tenant.id, ["ingest", "read"])
    await tenancy.call("RevokeApiKey", pb.RevokeApiKeyRequest(key_id=created.api_key.id), owner)
    error = await rejected(tenancy.call("AuthenticateApiKey", pb.AuthenticateApiKeyRequest(key=key), GATEWAY))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED and "revoked" in error.details()
    actions = [
        e.action for e in (await tenancy.call("ListAuditEvents", pb.ListAuditEventsRequest(), owner)).events
    ]
    assert actions[:3] == ["api_key.revoke", "api_key.use", "api_key.create"]


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda k: k[:-1] + ("A" if k[-1] != "A" else "B"), "malformed"),
        (lambda k: k[:20], "malformed"),
        (lambda k: "sfk_" + "x" * 60, "malformed"),
    ],
)
async def test_a_mistyped_key_fails_its_checksum_before_any_lookup(tenancy, mangle, reason):
    """RELIABILITY A5: A mistyped key fails its offline checksum before any lookup."""
    _, owner = await tenancy.tenant(OPERATOR)
    key = (await tenancy.call("CreateApiKey", pb.CreateApiKeyRequest(name="k", scopes=["read"]), owner)).key
    error = await rejected(
        tenancy.call("AuthenticateApiKey", pb.AuthenticateApiKeyRequest(key=mangle(key)), GATEWAY)
    )
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED and reason in error.details()


async def test_only_the_gateway_resolves_keys_and_only_managers_create_them(tenancy):
    _, owner = await tenancy.tenant(OPERATOR)
    key = (await tenancy.call("CreateApiKey", pb.CreateApiKeyRequest(name="k", scopes=["read"]), owner)).key
    error = await rejected(tenancy.call("AuthenticateApiKey", pb.AuthenticateApiKeyRequest(key=key), owner))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    viewer = owner.__class__(owner.kind, owner.subject, tenant_id=owner.tenant_id, role=owner.role.VIEWER)
    error = await rejected(
        tenancy.call("CreateApiKey", pb.CreateApiKeyRequest(name="v", scopes=["read"]), viewer)
    )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_bad_scopes_and_expiry_are_named(tenancy):
    _, owner = await tenancy.tenant(OPERATOR)
    for request, field in [
        (pb.CreateApiKeyRequest(name="a", scopes=["admin"]), "scopes"),
        (pb.CreateApiKeyRequest(name="b", scopes=[]), "scopes"),
        (pb.CreateApiKeyRequest(name="c", scopes=["read"], expires_in_days=4000), "expires_in_days"),
    ]:
        error = await rejected(tenancy.call("CreateApiKey", request, owner))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and error.details().startswith(field)
    await tenancy.call("CreateApiKey", pb.CreateApiKeyRequest(name="same", scopes=["read"]), owner)
    error = await rejected(
        tenancy.call("CreateApiKey", pb.CreateApiKeyRequest(name="same", scopes=["read"]), owner)
    )
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS


async def test_the_eleventh_device_on_a_ten_device_plan_is_refused(tenancy, admin_conn):
    tenant, owner = await tenancy.tenant(OPERATOR, plan="starter")
    for i in range(10):
        await tenancy.call("CreateDevice", pb.CreateDeviceRequest(name=f"edge-{i}"), owner)
    error = await rejected(tenancy.call("CreateDevice", pb.CreateDeviceRequest(name="edge-10"), owner))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error.details() == "the Starter plan allows 10 devices; 10 in use"
    count = admin_conn.execute(
        "SELECT count(*) FROM tenancy.devices WHERE tenant_id = %s", [tenant.id]
    ).fetchone()[0]
    assert count == 10
    await tenancy.call(
        "ChangePlan", pb.ChangePlanRequest(tenant_id=tenant.id, plan_code="standard"), OPERATOR
    )
    await tenancy.call(
        "CreateDevice", pb.CreateDeviceRequest(name="edge-10"), owner
    )  # the plan change took effect at once


async def test_rotating_or_revoking_a_device_stops_its_old_credential(stack, tenancy):
    _, owner = await tenancy.tenant(OPERATOR)
    machine = await _machine(tenancy, owner)
    series = (
        await tenancy.call(
            "CreateSeries", pb.CreateSeriesRequest(machine_id=machine, name="t", unit="", kind="gauge"), owner
        )
    ).series
    created = await tenancy.call("CreateDevice", pb.CreateDeviceRequest(name="edge"), owner)
    fresh = (
        await tenancy.call(
            "RotateDeviceCredential", pb.RotateDeviceCredentialRequest(device_id=created.device.id), owner
        )
    ).credential
    error = await rejected(
        send_batches(stack.targets["ingest"], created.credential, [batch(series.id, [time.time_ns()], [1.0])])
    )
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert (await send_batches(stack.targets["ingest"], fresh, [batch(series.id, [time.time_ns()], [1.0])]))[
        0
    ].points_stored == 1
    await tenancy.call("RevokeDevice", pb.RevokeDeviceRequest(device_id=created.device.id), owner)
    await _refused_within(stack, fresh, series.id, seconds=7)


async def _refused_within(stack, credential: str, series_id: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            await send_batches(
                stack.targets["ingest"], credential, [batch(series_id, [time.time_ns()], [1.0])]
            )
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.UNAUTHENTICATED
            return
        await asyncio.sleep(0.5)
    raise AssertionError("the revoked credential still works")
