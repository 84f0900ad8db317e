"""A tenant's life, end to end: created from a template by its supplier, a user invited and joining,
data arriving, suspended (ingest refused, reads work), resumed, cancelled and purged, with the audit
log telling each step. (Exporting during the grace period comes with the programme issue's exports.)"""

from __future__ import annotations

import asyncio
import time

import grpc
import psycopg

from services.runtime.config import Env
from services.runtime.tokens import service_principal
from sf.purge import purge_due
from sf.seeding import send_batches
from sfcloud.v1 import tenancy_pb2 as pb
from tests.control_plane import OPERATOR
from tests.e2e.test_bad_input import batch
from tests.tenancy.test_subscriptions import _ingest_refused

GATEWAY = service_principal("gateway")


async def _state(tenancy, staff, tenant_id: str, state: int) -> None:
    await tenancy.call(
        "SetSubscriptionState",
        pb.SetSubscriptionStateRequest(tenant_id=tenant_id, state=state, reason="lifecycle"),
        staff,
    )


async def _accepted_again(stack, credential: str, series_id: str) -> None:
    """Ingest remembers a credential's state for up to 5 s: within that, resuming takes effect."""
    for _ in range(20):
        try:
            await send_batches(
                stack.targets["ingest"], credential, [batch(series_id, [time.time_ns()], [2.0])]
            )
            return
        except grpc.aio.AioRpcError:
            await asyncio.sleep(0.5)
    raise AssertionError("ingest still refuses a resumed tenant")


async def test_from_template_to_purge(stack, mailing_tenancy, inbox, admin_url, redis_url):
    tenancy = mailing_tenancy
    _, staff = await tenancy.supplier("Lifecycle SI")
    tenant = (
        await tenancy.call(
            "CreateTenant",
            pb.CreateTenantRequest(
                name="Lifecycle Foods", plan_code="standard", template="food-processing", trial=True
            ),
            staff,
        )
    ).tenant
    owner = tenancy.owner_of(tenant)
    await tenancy.call(
        "InviteUser", pb.InviteUserRequest(email="qa@lifecycle.example", role=pb.ROLE_OPERATOR), owner
    )
    token = await inbox.next_link("invite")
    await tenancy.call(
        "AcceptInvitation",
        pb.AcceptInvitationRequest(token=token, display_name="QA", password="a-long-password"),
        GATEWAY,
    )
    series = (await tenancy.call("ListSeries", pb.ListSeriesRequest(), owner)).series[0]
    credential = (
        await tenancy.call("CreateDevice", pb.CreateDeviceRequest(name="filler-edge"), owner)
    ).credential
    await send_batches(stack.targets["ingest"], credential, [batch(series.id, [time.time_ns()], [1.0])])
    await _state(tenancy, staff, tenant.id, pb.SUBSCRIPTION_STATE_SUSPENDED)
    refused = await _ingest_refused(stack, credential, series.id)
    assert refused.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert (await tenancy.call("ListSeries", pb.ListSeriesRequest(series_ids=[series.id]), owner)).series
    await _state(tenancy, staff, tenant.id, pb.SUBSCRIPTION_STATE_ACTIVE)
    await _accepted_again(stack, credential, series.id)
    await _state(tenancy, staff, tenant.id, pb.SUBSCRIPTION_STATE_CANCELLED)
    actions = [
        e.action
        for e in reversed((await tenancy.call("ListAuditEvents", pb.ListAuditEventsRequest(), owner)).events)
    ]
    assert [a for a in actions if not a.startswith(("device.", "login"))] == [
        "tenant.create",
        "user.invite",
        "user.join",
        "subscription.suspended",
        "subscription.active",
        "subscription.cancelled",
    ]
    with psycopg.connect(admin_url) as conn:
        conn.execute("UPDATE tenancy.subscriptions SET purge_after = now() WHERE tenant_id = %s", [tenant.id])
    purged = await purge_due(Env({"SF_DATABASE_URL": admin_url, "SF_REDIS_URL": redis_url}))
    assert [str(p.tenant_id) for p in purged] == [tenant.id] and purged[0].blocks >= 2
    events = (
        await tenancy.call("ListAuditEvents", pb.ListAuditEventsRequest(page_size=500), OPERATOR)
    ).events
    assert any(e.action == "tenant.purge" and e.target == tenant.id for e in events)
