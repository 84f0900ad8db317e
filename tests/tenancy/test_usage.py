"""Metering: what ingest stored and the API calls made reach the tenant's daily usage, and a supplier
exports its tenants' month as CSV."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from datetime import UTC, datetime

import grpc
import httpx

from services.runtime.tokens import service_principal
from sf.seeding import send_batches
from sfcloud.v1 import tenancy_pb2 as pb
from tests.control_plane import OPERATOR, rejected
from tests.e2e.test_bad_input import batch
from tests.tenancy.test_subscriptions import _machine

TODAY = datetime.now(UTC).date().isoformat()


async def _until(check, seconds: float = 8.0):
    deadline = time.monotonic() + seconds
    while not (result := await check()):
        assert time.monotonic() < deadline, "usage did not arrive in time"
        await asyncio.sleep(0.3)
    return result


async def test_ingest_and_api_calls_are_metered_and_billed(stack, tenancy):
    _, staff = await tenancy.supplier("Metering")
    _, other_staff = await tenancy.supplier("Other metering")
    tenant, owner = await tenancy.tenant(staff, plan="standard")
    await tenancy.tenant(other_staff)
    machine = await _machine(tenancy, owner)
    series = (
        await tenancy.call(
            "CreateSeries", pb.CreateSeriesRequest(machine_id=machine, name="t", unit="", kind="gauge"), owner
        )
    ).series
    credential = (await tenancy.call("CreateDevice", pb.CreateDeviceRequest(name="edge"), owner)).credential
    now = time.time_ns()
    await send_batches(
        stack.targets["ingest"],
        credential,
        [batch(series.id, [now - i * 10**9 for i in range(1000)], [float(i) for i in range(1000)])],
    )
    key = (await tenancy.call("CreateApiKey", pb.CreateApiKeyRequest(name="m", scopes=["read"]), owner)).key
    async with httpx.AsyncClient(base_url=stack.gateway_url) as http:
        for _ in range(3):
            await http.post(
                "/graphql", json={"query": "{ machines { id } }"}, headers={"authorization": f"Bearer {key}"}
            )

    async def today():
        days = (
            await tenancy.call("GetUsage", pb.GetUsageRequest(first_day=TODAY, last_day=TODAY), owner)
        ).days
        return days and days[0].points == 1000 and days[0].api_calls >= 3 and days[0]

    usage = await _until(today)
    assert (usage.tenant_id, usage.active_devices) == (tenant.id, 1) and usage.bytes_stored > 0
    exported = (await tenancy.call("ExportBilling", pb.ExportBillingRequest(month=TODAY[:7]), staff)).csv
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [r["tenant_id"] for r in rows] == [tenant.id]
    assert (rows[0]["plan"], rows[0]["price_krw"], rows[0]["points"]) == ("standard", "790000", "1000")
    assert (
        await rejected(tenancy.call("ExportBilling", pb.ExportBillingRequest(month="2026-11"), owner))
    ).code() == (grpc.StatusCode.PERMISSION_DENIED)


async def test_bad_dates_are_named(tenancy):
    _, owner = await tenancy.tenant(OPERATOR)
    error = await rejected(
        tenancy.call("GetUsage", pb.GetUsageRequest(first_day="yesterday", last_day=TODAY), owner)
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and error.details().startswith("first_day")


async def test_the_analytics_service_reads_one_tenants_usage(tenancy):
    """For the smart-factory level: analytics, scoped to a tenant, sees that tenant's API calls only;
    other services, and analytics without a tenant, are refused."""
    _, owner = await tenancy.tenant(OPERATOR)
    _, other_owner = await tenancy.tenant(OPERATOR)
    for who, calls in ((owner, 5), (other_owner, 9)):
        await tenancy.call(
            "RecordApiCalls",
            pb.RecordApiCallsRequest(day=TODAY, calls=calls),
            service_principal("gateway", who.tenant_id),
        )
    request = pb.GetUsageRequest(first_day=TODAY, last_day=TODAY)
    days = (await tenancy.call("GetUsage", request, service_principal("analytics", owner.tenant_id))).days
    assert [(d.tenant_id, d.api_calls) for d in days] == [(str(owner.tenant_id), 5)]
    for refused in (service_principal("worker", owner.tenant_id), service_principal("analytics")):
        assert (await rejected(tenancy.call("GetUsage", request, refused))).code() == (
            grpc.StatusCode.PERMISSION_DENIED
        )
