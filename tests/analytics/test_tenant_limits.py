"""Analytics' per-tenant limits (RELIABILITY I7): a statement past its time limit is cancelled with a clear
status and the service goes on serving; a tenant past its reads at once waits, then is refused; the time
limit stays inside its transaction and never on a pooled connection."""

from __future__ import annotations

import asyncio
import time
import uuid

import grpc
import psycopg
import pytest

from services.analytics.config import AnalyticsSettings
from services.analytics.server import AnalyticsServer
from services.analytics.tenant_limits import LimitedCells, TenantTurns
from services.runtime.cells import CellDatabases
from services.runtime.db import Database
from services.runtime.errors import ResourceExhausted
from services.runtime.settings import ServiceSettings, role_url
from tests.analytics.helpers import Query
from tests.e2e.test_bad_input import reason_of

HOUR_NS = 3_600 * 10**9
TIMEOUT_MS = 1_000
WAIT_S = 0.2  # well below TIMEOUT_MS: a third read finds both turns still taken


@pytest.fixture
async def strict(stack, admin_url, signing_key):
    """A second analytics process with a 1 s statement timeout and 2 reads per tenant that wait 0.2 s."""
    service = ServiceSettings(
        "analytics", "127.0.0.1:0", role_url(admin_url, "sf_analytics", None), signing_key, shutdown_grace_s=2
    )
    settings = AnalyticsSettings(
        service,
        stack.targets["tenancy"],
        statement_timeout_ms=TIMEOUT_MS,
        tenant_reads=2,
        tenant_wait_s=WAIT_S,
    )
    server = AnalyticsServer(settings)
    port = await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield server, channel
    await server.stop()


async def outcome(call) -> str:
    try:
        await call
    except grpc.aio.AioRpcError as e:
        assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, e.details()
        return reason_of(e)
    return "OK"


async def test_a_statement_past_the_limit_is_cancelled_and_the_service_keeps_serving(
    strict, signer, tenant, admin_url
):
    """RELIABILITY I7: reads stuck behind a lock are cancelled at the statement timeout (QUERY_TIMEOUT);
    the tenant's third read at once is refused after its short wait (TENANT_READS_BUSY); then it serves."""
    server, channel = strict
    query = Query(channel, signer, tenant.id)
    series = tenant.series_ids[0]

    def read():
        return query.aggregate(series, 0, HOUR_NS, bucket_ns=60 * 10**9)

    async with await psycopg.AsyncConnection.connect(admin_url) as admin:
        await admin.execute("LOCK TABLE telemetry.blocks IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        first = [asyncio.ensure_future(outcome(read())) for _ in range(2)]
        await asyncio.sleep(0.05)  # both hold their turn, waiting on the lock
        third = await outcome(read())
        assert third == "TENANT_READS_BUSY"
        assert await asyncio.gather(*first) == ["QUERY_TIMEOUT", "QUERY_TIMEOUT"]
        elapsed = time.monotonic() - started
        await admin.rollback()
    assert TIMEOUT_MS / 1000 <= elapsed < TIMEOUT_MS / 1000 + 3
    assert await outcome(read()) == "OK"
    assert server.limited.turns.refused == 1
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async with await psycopg.AsyncConnection.connect(admin_url) as admin:
            await admin.execute("LOCK TABLE telemetry.blocks IN ACCESS EXCLUSIVE MODE")
            await read()
    assert "ran longer than its time limit and was cancelled" in caught.value.details()


async def test_the_time_limit_ends_with_its_transaction(admin_url):
    """SET LOCAL, not SET: the connection goes back to the pool without the limit."""
    db = Database(role_url(admin_url, "sf_analytics", None), min_size=1, max_size=1, name="limits-test")
    await db.open()
    try:
        cells = LimitedCells(
            CellDatabases(db, {}, "limits-test"), TenantTurns(2, 1.0), statement_timeout_ms=1234
        )
        async with cells.tenant(uuid.uuid4(), "") as conn:
            inside = await (await conn.execute("SHOW statement_timeout")).fetchone()
        async with db.transaction({}) as conn:
            after = await (await conn.execute("SHOW statement_timeout")).fetchone()
    finally:
        await db.close()
    assert inside == ("1234ms",)
    assert after == ("0",)


async def test_turns_are_per_tenant_and_forgotten_when_idle():
    """A's full turns do not hold B back; a refused caller leaves nothing behind."""
    turns = TenantTurns(limit=2, wait_s=0.05)
    a, b = uuid.uuid4(), uuid.uuid4()
    release = asyncio.Event()

    async def hold(tenant):
        async with turns.turn(tenant):
            await release.wait()

    holders = [asyncio.ensure_future(hold(a)) for _ in range(2)]
    await asyncio.sleep(0)
    entered = []
    with pytest.raises(ResourceExhausted) as caught:
        async with turns.turn(a):
            entered.append(a)
    assert caught.value.reason == "TENANT_READS_BUSY" and caught.value.retry_after_s
    async with turns.turn(b):
        entered.append(b)
    assert entered == [b]  # A's third caller never got in; B's got in beside A's two
    release.set()
    await asyncio.gather(*holders)
    assert (turns.peak, turns.refused) == (2, 1)
    assert not turns._turns and not turns._users
