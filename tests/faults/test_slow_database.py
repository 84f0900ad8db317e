"""RELIABILITY R2: +5 s of latency between analytics and PostgreSQL (the fault proxy on the link), a caller
with a 1 s deadline: the caller hears DEADLINE_EXCEEDED at its deadline, the handler is cancelled there
and sends PostgreSQL nothing more (no query of the abandoned call ever runs: the transaction it had begun
is the only trace, and it ends once the delayed traffic has played out), and the pool serves the next call
without a restart once the link is well again.

What was observed, for the record: the handler is cancelled while it waits for its `BEGIN` to be answered;
psycopg then sends PostgreSQL a cancel request (5 s late through the link) and waits up to 5 s for the
statement to end, after which the pool rolls the transaction back; PostgreSQL shows the backend `idle in
transaction` after `BEGIN` from 5 s to about 15 s and never sees the call's queries.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from urllib.parse import urlsplit

import grpc
import numpy as np
import pytest

from services.analytics.config import AnalyticsSettings
from services.analytics.server import AnalyticsServer
from services.runtime.principal import Kind, Principal, Role
from services.runtime.settings import ServiceSettings
from services.runtime.tokens import METADATA_KEY
from sfcloud.v1 import common_pb2, query_pb2, query_pb2_grpc
from tests.analytics.helpers import split_blocks, write_blocks
from tests.e2e.provision import create_tenant
from tests.faults.proxy import FaultProxy

LATENCY_S = 5.0
DEADLINE_S = 1.0
APPLICATION = "sf-analytics-slow"  # the slow analytics' connections, told apart from the stack's own
BACKENDS = "SELECT state, query FROM pg_stat_activity WHERE application_name = %s"
POINTS = 10_000
BUCKETS = 167  # of a minute, over 10,000 s from the start of a minute


@pytest.fixture
async def slow_analytics(stack, admin_url, admin_conn, signing_key):
    """An analytics server whose database link runs through the fault proxy (to PostgreSQL's unix socket);
    the proxy and the server's target."""
    directory = admin_conn.execute("SHOW unix_socket_directories").fetchone()[0].split(",")[0].strip()
    port = admin_conn.execute("SHOW port").fetchone()[0]
    async with FaultProxy(f"{directory}/.s.PGSQL.{port}", None) as proxy:
        url = urlsplit(admin_url)._replace(netloc=f"sf_analytics@{proxy.target}", query="").geturl()
        service = ServiceSettings(
            APPLICATION.removeprefix("sf-"), "127.0.0.1:0", url, signing_key, shutdown_grace_s=2
        )
        server = AnalyticsServer(AnalyticsSettings(service, stack.targets["tenancy"]))
        served = await server.start()
        yield proxy, f"127.0.0.1:{served}"
        proxy.pass_through()
        await server.stop()


async def aggregate(stub, token: str, series: str, lo: int, hi: int, deadline_s: float) -> int:
    request = query_pb2.AggregateRequest(
        series_id=series, range=common_pb2.TimeRange(start_ns=lo, end_ns=hi), bucket_ns=60 * 10**9
    )
    response = await stub.Aggregate(request, metadata=((METADATA_KEY, token),), timeout=deadline_s)
    return len(response.buckets)


async def watch(admin_conn, until_s: float, started: float) -> list[tuple[float, str, str]]:
    """(seconds since ``started``, state, query) of the slow analytics' backends, every 0.1 s until ``until_s``."""
    seen = []
    while (now := time.perf_counter() - started) < until_s:
        seen += [(now, state, query) for state, query in admin_conn.execute(BACKENDS, [APPLICATION])]
        await asyncio.sleep(0.1)
    return seen


async def test_a_call_past_its_deadline_leaves_no_query_behind(stack, signer, admin_conn, slow_analytics):
    proxy, target = slow_analytics
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Slow database")
    series = tenant.series_ids[0]
    minute = (time.time_ns() - 10**13) // (60 * 10**9) * 60 * 10**9
    timestamps = minute + np.arange(POINTS, dtype=np.int64) * 10**9
    write_blocks(
        admin_conn, tenant.id, uuid.UUID(series), timestamps, np.ones(POINTS), split_blocks(timestamps, set())
    )
    lo, hi = int(timestamps[0]), int(timestamps[-1]) + 1
    token = signer.sign(Principal(Kind.USER, str(uuid.uuid4()), tenant_id=tenant.id, role=Role.OWNER))
    async with grpc.aio.insecure_channel(target) as channel:
        stub = query_pb2_grpc.QueryServiceStub(channel)
        # the link well: answered
        assert await aggregate(stub, token, series, lo, hi, deadline_s=5) == BUCKETS
        proxy.delay(LATENCY_S)
        started = time.perf_counter()
        with pytest.raises(grpc.aio.AioRpcError) as late:
            await aggregate(stub, token, series, lo, hi, deadline_s=DEADLINE_S)
        heard_s = time.perf_counter() - started
        assert late.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        seen = await watch(admin_conn, DEADLINE_S + LATENCY_S + 2, started)
        proxy.pass_through()
        recovered = time.perf_counter()
        assert await aggregate(stub, token, series, lo, hi, deadline_s=10) == BUCKETS
        recovered_s = time.perf_counter() - recovered
    # the BEGIN sent before the deadline arrives 5 s late and may be sampled while it runs: it is the
    # transaction's start, not a query of the call
    running = [(round(at, 1), query) for at, state, query in seen if state == "active" and query != "BEGIN"]
    after_begin = {query for at, state, query in seen if state.startswith("idle in transaction")}
    print(
        f"\ndeadline heard after {heard_s:.2f} s; backends seen running a query: {running}; statements of open"
        f" transactions: {after_begin}; next call answered {recovered_s:.2f} s after the link was well"
    )
    assert heard_s < DEADLINE_S * 1.1
    assert running == []  # no query of the abandoned call ever ran (sampled every 0.1 s for 8 s)
    assert after_begin <= {"BEGIN"}  # the handler sent nothing after the deadline
    assert recovered_s < LATENCY_S
