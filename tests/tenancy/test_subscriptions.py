"""Suppliers resell tenants on plans; subscriptions move through their states, each change audited,
and a suspended tenant's devices are refused while its data stays readable."""

from __future__ import annotations

import asyncio
import json
import time

import grpc

from sf.seeding import send_batches
from sfcloud.v1 import tenancy_pb2 as pb
from tests.control_plane import OPERATOR, rejected
from tests.e2e.test_bad_input import batch


async def test_a_supplier_sees_and_pages_through_only_its_own_tenants(tenancy):
    supplier, staff = await tenancy.supplier("Hanul")
    _, other_staff = await tenancy.supplier("Other")
    mine = [(await tenancy.tenant(staff))[0] for _ in range(5)]
    await tenancy.tenant(other_staff)
    seen, token = [], ""
    while True:
        page = await tenancy.call("ListTenants", pb.ListTenantsRequest(page_size=2, page_token=token), staff)
        seen += page.tenants
        token = page.next_page_token
        if not token:
            break
    assert sorted(t.id for t in seen) == sorted(t.id for t in mine)
    assert all(t.supplier_id == supplier.id for t in seen)
    assert [t.name for t in seen] == sorted(t.name for t in seen)


async def test_a_supplier_cannot_touch_another_suppliers_tenant(tenancy):
    _, staff = await tenancy.supplier("Mine")
    _, intruder = await tenancy.supplier("Intruder")
    tenant, _ = await tenancy.tenant(staff)
    for method, request in [
        ("GetTenant", pb.GetTenantRequest(tenant_id=tenant.id)),
        ("ChangePlan", pb.ChangePlanRequest(tenant_id=tenant.id, plan_code="pro")),
        (
            "SetSubscriptionState",
            pb.SetSubscriptionStateRequest(tenant_id=tenant.id, state=pb.SUBSCRIPTION_STATE_SUSPENDED),
        ),
    ]:
        error = await rejected(tenancy.call(method, request, intruder))
        assert error.code() == grpc.StatusCode.NOT_FOUND, method
    error = await rejected(
        tenancy.call(
            "CreateTenant",
            pb.CreateTenantRequest(name="x", plan_code="starter", supplier_id=tenant.supplier_id),
            intruder,
        )
    )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_trial_plan_change_and_states_are_audited(tenancy):
    _, staff = await tenancy.supplier("States")
    tenant, owner = await tenancy.tenant(staff, plan="starter", trial=True)
    assert tenant.state == pb.SUBSCRIPTION_STATE_TRIAL
    changed = (
        await tenancy.call("ChangePlan", pb.ChangePlanRequest(tenant_id=tenant.id, plan_code="pro"), staff)
    ).tenant
    assert changed.plan_code == "pro"
    for state in (
        pb.SUBSCRIPTION_STATE_ACTIVE,
        pb.SUBSCRIPTION_STATE_SUSPENDED,
        pb.SUBSCRIPTION_STATE_ACTIVE,
        pb.SUBSCRIPTION_STATE_CANCELLED,
    ):
        request = pb.SetSubscriptionStateRequest(tenant_id=tenant.id, state=state, reason="test")
        assert (await tenancy.call("SetSubscriptionState", request, staff)).tenant.state == state
    error = await rejected(
        tenancy.call(
            "SetSubscriptionState",
            pb.SetSubscriptionStateRequest(tenant_id=tenant.id, state=pb.SUBSCRIPTION_STATE_ACTIVE),
            staff,
        )
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "a cancelled subscription cannot become active" in error.details()
    events = (await tenancy.call("ListAuditEvents", pb.ListAuditEventsRequest(), owner)).events
    actions = [e.action for e in reversed(events)]
    assert actions == [
        "tenant.create",
        "subscription.change_plan",
        "subscription.active",
        "subscription.suspended",
        "subscription.active",
        "subscription.cancelled",
    ]
    assert json.loads(events[-2].detail_json) == {"from": "starter", "to": "pro"}
    assert all(e.actor_id == staff.subject and e.outcome == "ok" for e in events)


async def test_unknown_plan_is_refused_and_nothing_is_created(tenancy):
    error = await rejected(
        tenancy.call("CreateTenant", pb.CreateTenantRequest(name="No plan", plan_code="gold"), OPERATOR)
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "no plan 'gold'" in error.details()
    listed = (await tenancy.call("ListTenants", pb.ListTenantsRequest(page_size=200), OPERATOR)).tenants
    assert "No plan" not in {t.name for t in listed}


async def test_suspended_tenant_cannot_ingest_but_reads(stack, tenancy):
    _, staff = await tenancy.supplier("Suspend")
    tenant, owner = await tenancy.tenant(staff)
    machine = await _machine(tenancy, owner)
    series = (
        await tenancy.call(
            "CreateSeries",
            pb.CreateSeriesRequest(machine_id=machine, name="temp", unit="degC", kind="gauge"),
            owner,
        )
    ).series
    credential = (await tenancy.call("CreateDevice", pb.CreateDeviceRequest(name="edge"), owner)).credential
    now = time.time_ns()
    assert (await send_batches(stack.targets["ingest"], credential, [batch(series.id, [now], [1.0])]))[
        0
    ].points_stored == 1
    await tenancy.call(
        "SetSubscriptionState",
        pb.SetSubscriptionStateRequest(
            tenant_id=tenant.id, state=pb.SUBSCRIPTION_STATE_SUSPENDED, reason="unpaid"
        ),
        staff,
    )
    error = await _ingest_refused(stack, credential, series.id)
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "subscription is suspended" in error.details() and "data stays readable" in error.details()
    listed = await tenancy.call("ListSeries", pb.ListSeriesRequest(series_ids=[series.id]), owner)
    assert [s.id for s in listed.series] == [series.id]


async def _ingest_refused(stack, credential: str, series_id: str) -> grpc.aio.AioRpcError:
    """Ingest remembers a credential for up to 5 s: within that, the suspension must take effect."""
    deadline = time.monotonic() + 7
    while time.monotonic() < deadline:
        try:
            await send_batches(
                stack.targets["ingest"], credential, [batch(series_id, [time.time_ns()], [2.0])]
            )
        except grpc.aio.AioRpcError as error:
            return error
        await asyncio.sleep(0.5)
    raise AssertionError("ingest still accepted a suspended tenant's data")


async def _machine(tenancy, owner) -> str:
    parent = ""
    for kind in (pb.ASSET_KIND_SITE, pb.ASSET_KIND_LINE, pb.ASSET_KIND_MACHINE):
        parent = (
            await tenancy.call(
                "CreateAsset", pb.CreateAssetRequest(parent_id=parent, kind=kind, name="A"), owner
            )
        ).asset.id
    return parent
