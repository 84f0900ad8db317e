"""RELIABILITY I3: a pooled connection never carries one tenant's context into another's transaction.

Requests of 50 tenants share a 4-connection pool of the tenancy service's role; a random fifth of them fail
with an exception after their first read, a random tenth are cancelled mid-query (as a client that goes
away), and one in twenty runs with no tenant context at all. Every row each request reads is checked for its
tenant. 2,000 requests in `make test`, 10,000 in `make test-long`. The static half (no session-level tenant
setting anywhere in the code) is `test_rls.py::test_no_session_level_tenant_settings_in_the_code`.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid

import grpc
import pytest

from services.runtime.db import Database
from services.runtime.settings import role_url
from sfcloud.v1 import tenancy_pb2 as pb
from sfcloud.v1 import tenancy_pb2_grpc
from tests.control_plane import OPERATOR, Tenancy

TENANTS = 50
READ = "SELECT tenant_id FROM tenancy.assets"
SLOW_READ = "SELECT tenant_id FROM tenancy.assets, pg_sleep(0.02)"


class Failure(Exception):
    """A handler's own error in the middle of its transaction."""


@pytest.fixture(scope="module")
async def tenants(stack, signer) -> list[uuid.UUID]:
    """50 tenants with one site each, made through the tenancy service."""
    made = []
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
        tenancy = Tenancy(tenancy_pb2_grpc.TenancyServiceStub(channel), signer)
        for _ in range(TENANTS):
            tenant, owner = await tenancy.tenant(OPERATOR)
            await tenancy.call(
                "CreateAsset", pb.CreateAssetRequest(kind=pb.ASSET_KIND_SITE, name="Plant"), owner
            )
            made.append(uuid.UUID(tenant.id))
    return made


async def _request(db: Database, tenant: uuid.UUID | None, fate: str) -> list[uuid.UUID]:
    """One request's reads: its tenant's asset rows (or, without a tenant, whatever it can see)."""
    settings = {"app.tenant_id": str(tenant)} if tenant else {}
    async with db.transaction(settings) as conn:
        rows = [r[0] for r in await (await conn.execute(SLOW_READ if fate == "cancel" else READ)).fetchall()]
        if fate == "fail":
            raise Failure
        return rows


@pytest.mark.parametrize("requests", [2_000, pytest.param(10_000, marks=pytest.mark.long)], ids=["2k", "10k"])
async def test_no_request_sees_another_tenants_rows(admin_url, tenants, requests):
    db = Database(role_url(admin_url, "sf_tenancy", None), min_size=4, max_size=4, name="sf-i3")
    await db.open()
    rng = random.Random(12)
    seen = {"rows": 0, "foreign": 0, "without_context": 0, "failed": 0, "cancelled": 0}
    started = time.monotonic()

    async def one(i: int) -> None:
        tenant = None if rng.random() < 0.05 else rng.choice(tenants)
        fate = rng.choices(["ok", "fail", "cancel"], [0.7, 0.2, 0.1])[0]
        task = asyncio.create_task(_request(db, tenant, fate))
        if fate == "cancel":
            await asyncio.sleep(rng.uniform(0, 0.02))
            task.cancel()
        try:
            rows = await task
        except Failure:
            seen["failed"] += 1
            return
        except asyncio.CancelledError:
            seen["cancelled"] += 1
            return
        seen["rows"] += len(rows)
        if tenant is None:
            seen["without_context"] += len(rows)
        else:
            assert rows, f"request {i}: its own tenant's site is missing"
            seen["foreign"] += sum(row != tenant for row in rows)

    try:
        for start in range(0, requests, 50):  # 50 in flight at a time over 4 connections
            await asyncio.gather(*(one(i) for i in range(start, min(start + 50, requests))))
    finally:
        await db.close()
    assert seen["foreign"] == 0 and seen["without_context"] == 0, seen
    assert seen["failed"] > 0 and seen["cancelled"] > 0, seen
    print(f"\nI3: {requests} requests in {time.monotonic() - started:.1f} s, {seen}")
