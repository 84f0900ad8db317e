"""RELIABILITY D7: an ingest service whose links to PostgreSQL and Redis run through fault proxies.

Ingest is the service with both dependencies on its write path (a batch commits in PostgreSQL, then its
live values and compaction notice go to Redis), so it is the one to slow down, reset and cut off.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import tracemalloc
import uuid
from dataclasses import dataclass, field, replace

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.ingest.config import IngestSettings
from services.ingest.server import IngestServer
from services.runtime.db import Database
from services.runtime.metrics import LIMITS_HELD_LOCALLY, REDIS_BREAKER_OPENED
from sf.seeding import SeededTenant, device_metadata
from sfcloud.v1 import ingest_pb2_grpc
from tests.e2e.provision import create_tenant, send_batches
from tests.e2e.test_bad_input import batch, stored_points
from tests.e2e.test_rate_limits import BATCH, big_batch
from tests.faults.proxy import FaultProxy, through, upstream_of

pytestmark = pytest.mark.slow
SERVING, NOT_SERVING = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING
FLIP_BOUND_S = 5.0  # RELIABILITY D7: readiness follows a dependency within 5 s, both ways


class Faulty:
    """An ingest server reaching PostgreSQL and Redis only through ``database`` and ``redis`` proxies."""

    def __init__(self, stack, database: FaultProxy, redis: FaultProxy) -> None:
        settings = stack._service("ingest")
        service = replace(settings, database_url=through(settings.database_url, database))
        self.server = IngestServer(
            IngestSettings(
                service, stack.targets["tenancy"], through(stack.redis_url, redis), usage_interval_s=1
            )
        )
        self.database, self.redis = database, redis
        self.target = ""

    @property
    def proxies(self) -> tuple[FaultProxy, FaultProxy]:
        return self.database, self.redis

    async def __aenter__(self) -> Faulty:
        await self.database.start()
        await self.redis.start()
        self.target = f"127.0.0.1:{await self.server.start()}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for proxy in self.proxies:
            proxy.pass_through()
        await self.server.stop()
        for proxy in self.proxies:
            await proxy.close()


@pytest.fixture
async def faulty(stack):
    database = FaultProxy(*upstream_of(stack.admin_url))
    redis = FaultProxy(*upstream_of(stack.redis_url))
    async with Faulty(stack, database, redis) as running:
        yield running


@dataclass
class Device:
    tenant: SeededTenant
    session: str = field(default_factory=lambda: str(uuid.uuid4()))


@pytest.fixture
async def device(stack, signer) -> Device:
    return Device(await create_tenant(stack.targets["tenancy"], signer, "Faults"))


async def send_one(channel, device: Device, batch_no: int, deadline: float):
    """One batch on its own Ingest call, as a device without retries sends it; (ack or error, seconds)."""
    series = device.tenant.series_ids[0]
    request = batch(series, [time.time_ns() - 10**12 + batch_no], [float(batch_no)], batch_no)
    request.session_id = device.session
    stub = ingest_pb2_grpc.IngestServiceStub(channel)
    started = time.perf_counter()
    try:
        call = stub.Ingest(
            iter([request]), metadata=device_metadata(device.tenant.credential), timeout=deadline
        )
        acks = [ack async for ack in call]
        return acks[0], time.perf_counter() - started
    except grpc.aio.AioRpcError as exc:
        return exc.code(), time.perf_counter() - started


async def health(target: str) -> int:
    async with grpc.aio.insecure_channel(target) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2)
        return reply.status


async def seconds_until(target: str, status: int, within: float = 15.0) -> float:
    started = time.perf_counter()
    async with asyncio.timeout(within):
        while True:  # polling, as a kubelet does: the flip is what is measured
            if await health(target) == status:
                break
            await asyncio.sleep(0.05)
    return time.perf_counter() - started


async def test_500_ms_more_latency_to_postgres_and_redis_meets_deadlines_or_fails_clearly(
    faulty, device, admin_conn
):
    """RELIABILITY D7: +500 ms a round trip to PostgreSQL and Redis: a batch with room in its deadline is
    acknowledged; one without fails DEADLINE_EXCEEDED by its deadline +10 %; acknowledged == stored."""
    for proxy in faulty.proxies:
        proxy.delay(0.25)  # each way: +500 ms a round trip
    outcomes = []
    async with grpc.aio.insecure_channel(faulty.target) as channel:
        for n, deadline in enumerate([15.0, 1.0, 15.0], start=1):
            outcome, took = await send_one(channel, device, n, deadline)
            outcomes.append((deadline, outcome, took))
        for proxy in faulty.proxies:
            proxy.pass_through()
        after, took_after = await send_one(channel, device, 4, 2.0)
    print("latency +500 ms:", [(d, getattr(o, "name", "ack"), round(t, 2)) for d, o, t in outcomes])
    for deadline, outcome, took in outcomes:
        assert took <= deadline * 1.1, (deadline, outcome, took)
        assert outcome == grpc.StatusCode.DEADLINE_EXCEEDED or outcome.points_stored == 1, outcome
    assert all(o.points_stored == 1 for d, o, _ in outcomes if d == 15.0)
    assert after.points_stored == 1 and took_after < 1.0  # and back to normal at once
    acknowledged = sum(1 for _, o, _ in outcomes if not isinstance(o, grpc.StatusCode)) + 1
    assert (
        stored_points(admin_conn, device.tenant.id) >= acknowledged
    )  # a timed-out batch may have committed too


async def test_with_redis_dark_ingest_holds_the_plan_rate_itself(faulty, stack, signer, admin_conn):
    """The quota does not lapse with Redis: a minute's burst of the starter plan's 2,000 points/s passes,
    the batch past it is refused whole with the wait, as `tests/e2e/test_rate_limits.py` has it with Redis."""
    tenant = await create_tenant(
        stack.targets["tenancy"], signer, "Dark quota", series_count=1, plan="starter"
    )
    held, outages = LIMITS_HELD_LOCALLY.value, REDIS_BREAKER_OPENED.value  # this process's, exported
    faulty.redis.blackhole()
    acks = []
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        for n in range(1, 5):
            acks += await send_batches(faulty.target, tenant.credential, [big_batch(tenant.series_ids[0], n)])
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, caught.value.details()
    assert "over the plan's 2,000 points/s (live lane); retry in" in caught.value.details()
    assert len(acks) == 3 and stored_points(admin_conn, tenant.id) == 3 * BATCH
    assert LIMITS_HELD_LOCALLY.value - held == 4 and REDIS_BREAKER_OPENED.value - outages == 1


async def test_resets_of_every_5th_connection_and_of_all_open_ones_fail_no_call(faulty, device, admin_conn):
    """RELIABILITY D7: RST of every 5th new connection to PostgreSQL and Redis (the row asks every 50th),
    and every open connection reset each 10 calls: clients reconnect, every call succeeds in its deadline."""
    for proxy in faulty.proxies:
        proxy.reset_every(5)
    failures, slowest = [], 0.0
    async with grpc.aio.insecure_channel(faulty.target) as channel:
        for n in range(1, 101):
            if n % 10 == 0:
                for proxy in faulty.proxies:
                    proxy.reset_all()
            outcome, took = await send_one(channel, device, n, 5.0)
            slowest = max(slowest, took)
            if isinstance(outcome, grpc.StatusCode):
                failures.append((n, outcome))
    resets = faulty.database.resets + faulty.redis.resets
    print(f"RST: {resets} new connections reset, slowest call {slowest:.2f} s, failures {failures}")
    assert failures == []
    assert resets >= 2
    assert stored_points(admin_conn, device.tenant.id) == 100


@pytest.mark.parametrize("which", ["database", "redis"])
async def test_readiness_flips_within_5_s_of_a_blackholed_dependency_both_ways(faulty, which):
    """RELIABILITY D7: readiness NOT_SERVING within 5 s of PostgreSQL (or Redis) going dark, SERVING within 5 s
    of its return (the default 2 s readiness interval)."""
    proxy = getattr(faulty, which)
    assert await health(faulty.target) == SERVING
    proxy.blackhole()
    down = await seconds_until(faulty.target, NOT_SERVING)
    proxy.restore()
    up = await seconds_until(faulty.target, SERVING)
    print(
        f"readiness with {which} blackholed: NOT_SERVING after {down:.2f} s, SERVING {up:.2f} s after restore"
    )
    assert down <= FLIP_BOUND_S and up <= FLIP_BOUND_S


async def test_callers_given_up_while_the_database_is_dark_leave_nothing_behind(admin_url):
    """RELIABILITY D7: the pool keeps a waiter that gave up until a connection comes back; the error it keeps
    must not hold the caller's frames, or a dark database grows memory with every call cancelled at its
    deadline (300 callers holding 100 KB each kept 31 MB before `Database._lend`)."""
    proxy = await FaultProxy(*upstream_of(admin_url)).start()
    database = Database(through(admin_url, proxy), max_size=1)
    await database.open()

    async def caller() -> int:
        batch = bytearray(100_000)
        async with database.transaction({}) as conn:
            await conn.execute("SELECT 1")
        return len(batch)

    proxy.blackhole()
    holder = asyncio.create_task(caller())  # takes the one connection and hangs on the dark link
    await asyncio.sleep(0.1)
    tracemalloc.start()
    try:
        for _ in range(300):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(caller(), 0.01)
        kept_mb = tracemalloc.get_traced_memory()[0] / 2**20
    finally:
        tracemalloc.stop()
        holder.cancel()
        proxy.restore()
        await database.close()
        await proxy.close()
    print(f"300 callers given up on a dark database: {kept_mb:.2f} MB kept")
    assert kept_mb < 5
