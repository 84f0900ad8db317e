"""A tenant's life, end to end: created from a template by its supplier, a user invited and joining,
data arriving, suspended (ingest refused, reads work), resumed, cancelled, exported during the grace
period (the worker's ExportService: the package holds the tenant's points), and purged (its exports'
records and packages with it), with the audit log telling each control-plane step."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import time
import zipfile
from pathlib import Path

import grpc
import psycopg

from services.runtime.config import Env
from services.runtime.tokens import METADATA_KEY, service_principal
from sf.purge import purge_due
from sf.seeding import send_batches
from sfcloud.v1 import export_pb2, export_pb2_grpc
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


async def _export(stack, signer, owner) -> bytes:
    """The owner exports the whole tenant and reads the package back, as the gateway's download does."""
    async with grpc.aio.insecure_channel(stack.targets["worker"]) as channel:
        exports = export_pb2_grpc.ExportServiceStub(channel)
        metadata = ((METADATA_KEY, signer.sign(owner)),)
        export = (
            await exports.StartExport(export_pb2.StartExportRequest(), metadata=metadata, timeout=10)
        ).export
        for _ in range(200):
            request = export_pb2.GetExportRequest(export_id=export.id)
            export = (await exports.GetExport(request, metadata=metadata, timeout=10)).export
            if export.state == export_pb2.EXPORT_STATE_DONE:
                break
            await asyncio.sleep(0.05)
        package = b""
        while len(package) < export.bytes:
            request = export_pb2.ReadExportRequest(export_id=export.id, offset=len(package))
            package += (await exports.ReadExport(request, metadata=metadata, timeout=10)).data
    assert (
        export.state == export_pb2.EXPORT_STATE_DONE and hashlib.sha256(package).hexdigest() == export.sha256
    )
    return package


async def test_from_template_to_purge(stack, signer, mailing_tenancy, inbox, admin_url, redis_url):
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
    with zipfile.ZipFile(io.BytesIO(await _export(stack, signer, owner))) as package:
        manifest = json.loads(package.read("manifest.json"))
    newest = (await tenancy.call("ListAuditEvents", pb.ListAuditEventsRequest(page_size=1), owner)).events[0]
    assert (newest.action, newest.actor_kind, json.loads(newest.detail_json)["requested_by"]) == (
        "export.request",
        "service",
        f"user:{owner.subject}",
    )
    with psycopg.connect(admin_url) as conn:
        stored = conn.execute(
            "SELECT sum(count) FROM telemetry.blocks WHERE tenant_id = %s", [tenant.id]
        ).fetchone()
    assert manifest["tenant"]["id"] == tenant.id and manifest["totals"]["points"] == stored[0] >= 2
    assert manifest["totals"]["series"] == len(
        (await tenancy.call("ListSeries", pb.ListSeriesRequest(), owner)).series
    )
    with psycopg.connect(admin_url) as conn:
        conn.execute("UPDATE tenancy.subscriptions SET purge_after = now() WHERE tenant_id = %s", [tenant.id])
    env = {"SF_DATABASE_URL": admin_url, "SF_REDIS_URL": redis_url, "SF_EXPORT_DIR": stack.export_dir}
    purged = await purge_due(Env(env))
    assert [str(p.tenant_id) for p in purged] == [tenant.id] and purged[0].blocks >= 2
    assert not (Path(stack.export_dir) / tenant.id).exists()
    with psycopg.connect(admin_url) as conn:
        assert (
            conn.execute(
                "SELECT count(*) FROM telemetry.exports WHERE tenant_id = %s", [tenant.id]
            ).fetchone()[0]
            == 0
        )
    events = (
        await tenancy.call("ListAuditEvents", pb.ListAuditEventsRequest(page_size=500), OPERATOR)
    ).events
    assert any(e.action == "tenant.purge" and e.target == tenant.id for e in events)
