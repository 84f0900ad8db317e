"""RELIABILITY D7: PostgreSQL, then Redis, blackholed under steady load, with `sf serve ingest` and
`sf serve analytics` as processes of their own whose links to both run through fault proxies.

Devices send batches at a steady pace whatever the answers, as sensors do: each batch on its own Ingest
call with a 2 s deadline and no retries. A reader asks analytics for an aggregate at a steady pace too, and
a prober asks both processes for readiness ten times a second. Their RSS and connections are sampled
twice a second. `make test` blackholes each dependency for 5 s; `make test-long` for 30 s.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import grpc
import psutil
import psycopg
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.runtime.db import DEFAULT_POOL_SIZE
from services.runtime.redis_pool import MAX_CONNECTIONS
from services.runtime.settings import role_url
from sf.inprocess import free_port
from sf.seeding import device_metadata
from sfcloud.v1 import common_pb2, ingest_pb2, ingest_pb2_grpc, query_pb2, query_pb2_grpc
from tests.durability.stored import stored_pairs
from tests.e2e.provision import create_tenant
from tests.faults.processes import ServiceProcess, ingest_env
from tests.faults.proxy import FaultProxy, through, upstream_of
from tests.faults.test_dependency_faults import FLIP_BOUND_S, NOT_SERVING, SERVING
from tests.isolation.test_rls import _as

pytestmark = pytest.mark.slow

DEADLINE_S = 2.0
LATE_S = DEADLINE_S * 1.1  # RELIABILITY D7: no call past its deadline +10 %
CLEAR = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}
DEVICES = 4
BATCHES_PER_S = 20  # over all devices
POINTS = 10  # a batch
READS_PER_S = 5
WARM_UP_S = 2.0
SETTLE_S = 7.0  # after each restore, before the next fault
RECOVER_BOUND_S = 3.0  # every call started this long after a restore succeeds
PROBE_S, SAMPLE_S = 0.1, 0.5
DEPENDS_ON = {"ingest": ("postgres", "redis"), "analytics": ("postgres",)}
RSS_GROWTH_MB = 10  # 3-5 MB in a run; 13-16 MB while the pool kept cancelled callers' frames (db.py)


@dataclass(frozen=True)
class Call:
    kind: str  # "ingest" or "read"
    started: float  # time.monotonic()
    took: float
    code: grpc.StatusCode
    details: str = ""
    points: dict[tuple[str, int], float] = field(
        default_factory=dict
    )  # a batch's (series, ts) → value, as sent

    @property
    def ok(self) -> bool:
        return self.code == grpc.StatusCode.OK


@dataclass
class Fault:
    dependency: str
    began: float = 0.0
    ended: float = 0.0
    calm_until: float = float("inf")  # calls started later may meet the next fault before their deadline


@dataclass
class Samples:
    health: dict[str, list[tuple[float, int | None]]] = field(default_factory=dict)
    rss_mb: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # (when, MB)
    sockets: dict[str, list[int]] = field(default_factory=dict)  # "<process> <dependency>" → count
    backends: dict[str, list[int]] = field(default_factory=dict)  # application_name → pg_stat_activity count


@dataclass
class Rig:
    ingest: ServiceProcess
    analytics: ServiceProcess
    proxies: dict[str, FaultProxy]
    admin_url: str
    since: float  # time.time() before they started: older backends are not theirs

    @property
    def processes(self) -> tuple[ServiceProcess, ServiceProcess]:
        return self.ingest, self.analytics


@pytest.fixture
async def rig(stack, tmp_path):
    """Ingest and analytics processes reaching PostgreSQL and Redis only through the proxies."""
    proxies = {
        "postgres": await FaultProxy(*upstream_of(stack.admin_url)).start(),
        "redis": await FaultProxy(*upstream_of(stack.redis_url)).start(),
    }
    database = through(stack.admin_url, proxies["postgres"])
    common = {"SF_DATABASE_URL": database, "SF_SHUTDOWN_GRACE_S": "2"}
    ingest_vars = ingest_env(stack) | common | {"SF_REDIS_URL": through(stack.redis_url, proxies["redis"])}
    ingest_vars["SF_INGEST_DATABASE_URL"] = role_url(database, "sf_ingest", None)
    analytics_vars = common | {
        "SF_ANALYTICS_DATABASE_URL": role_url(database, "sf_analytics", None),
        "SF_SIGNING_KEY": stack.signing_key,
        "SF_TENANCY_TARGET": stack.targets["tenancy"],
    }
    since = time.time()
    try:
        async with (
            ServiceProcess("ingest", ingest_vars, free_port(), tmp_path) as ingest,
            ServiceProcess("analytics", analytics_vars, free_port(), tmp_path) as analytics,
        ):
            yield Rig(ingest, analytics, proxies, stack.admin_url, since)
    finally:
        for proxy in proxies.values():
            await proxy.close()


def failure(kind: str, started: float, exc: grpc.aio.AioRpcError, points: dict | None = None) -> Call:
    return Call(kind, started, time.monotonic() - started, exc.code(), exc.details() or "", points or {})


async def send_batch(stub, credential: str, series: str, n: int, base_ns: int) -> Call:
    """Batch ``n`` on its own Ingest call with DEADLINE_S, as a device without retries sends it. Each call is
    a session of its own: calls overlap while a dependency is dark, and within one session a batch that
    arrives after a higher-numbered one counts as already stored (the session's high-water mark)."""
    timestamps = [base_ns + (n * POINTS + i) * 10**6 for i in range(POINTS)]
    values = [float(n * POINTS + i) for i in range(POINTS)]
    request = ingest_pb2.IngestRequest(
        session_id=str(uuid.uuid4()),
        batch_no=1,
        series=[ingest_pb2.SeriesPoints(series_id=series, timestamps_ns=timestamps, values=values)],
    )
    points = {(series, t): v for t, v in zip(timestamps, values, strict=True)}
    started = time.monotonic()
    try:
        call = stub.Ingest(iter([request]), metadata=device_metadata(credential), timeout=DEADLINE_S)
        acks = [ack async for ack in call]
    except grpc.aio.AioRpcError as exc:
        return failure("ingest", started, exc, points)
    assert [(a.points_stored, a.duplicate) for a in acks] == [(POINTS, False)], acks
    return Call("ingest", started, time.monotonic() - started, grpc.StatusCode.OK, points=points)


async def read_aggregate(stub, metadata, series: str, lo: int, hi: int) -> Call:
    request = query_pb2.AggregateRequest(
        series_id=series, range=common_pb2.TimeRange(start_ns=lo, end_ns=hi), bucket_ns=60 * 10**9
    )
    started = time.monotonic()
    try:
        await stub.Aggregate(request, metadata=metadata, timeout=DEADLINE_S)
    except grpc.aio.AioRpcError as exc:
        return failure("read", started, exc)
    return Call("read", started, time.monotonic() - started, grpc.StatusCode.OK)


async def paced(per_second: float, until: float, call: Callable[[int], Awaitable[Call]]) -> list[Call]:
    """``call(n)`` started every 1/per_second s until ``until``, never waiting for answers (a sensor's pace)."""
    tasks, n, start = [], 0, time.monotonic()
    while (at := start + n / per_second) < until:
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        tasks.append(asyncio.create_task(call(n)))
        n += 1
    return list(await asyncio.gather(*tasks))


async def probe(targets: dict[str, str], until: float, samples: Samples) -> None:
    """Readiness of each process every PROBE_S, as a kubelet asks it (more often); None when unanswered."""
    channels = {name: grpc.aio.insecure_channel(target) for name, target in targets.items()}
    try:
        while time.monotonic() < until:
            for name, channel in channels.items():
                try:
                    reply = await health_pb2_grpc.HealthStub(channel).Check(
                        health_pb2.HealthCheckRequest(), timeout=1
                    )
                    status = reply.status
                except grpc.aio.AioRpcError:
                    status = None
                samples.health.setdefault(name, []).append((time.monotonic(), status))
            await asyncio.sleep(PROBE_S)
    finally:
        for channel in channels.values():
            await channel.close()


def sockets_to(process: psutil.Process, port: int) -> int:
    return sum(1 for c in process.net_connections(kind="tcp") if c.raddr and c.raddr.port == port)


async def sample(rig: Rig, until: float, samples: Samples) -> None:
    """Each process's RSS and sockets to each proxy, and the backends it holds in PostgreSQL."""
    processes = {p.name: psutil.Process(p.pid) for p in rig.processes}
    query = (
        "SELECT application_name, count(*) FROM pg_stat_activity"
        " WHERE application_name IN ('sf-ingest', 'sf-analytics') AND backend_start >= to_timestamp(%s)"
        " GROUP BY 1"
    )
    async with await psycopg.AsyncConnection.connect(rig.admin_url, autocommit=True) as conn:
        while time.monotonic() < until:
            for name, process in processes.items():
                samples.rss_mb.setdefault(name, []).append(
                    (time.monotonic(), process.memory_info().rss / 2**20)
                )
                for dependency, proxy in rig.proxies.items():
                    samples.sockets.setdefault(f"{name} {dependency}", []).append(
                        sockets_to(process, proxy.port)
                    )
            counts = dict(await (await conn.execute(query, [rig.since])).fetchall())
            for name in ("sf-ingest", "sf-analytics"):
                samples.backends.setdefault(name, []).append(counts.get(name, 0))
            await asyncio.sleep(SAMPLE_S)


async def inflict(proxies: dict[str, FaultProxy], dark_s: float) -> list[Fault]:
    """After the warm-up, each dependency dark for ``dark_s``, then SETTLE_S of normal running."""
    await asyncio.sleep(WARM_UP_S)
    faults = []
    for dependency, proxy in proxies.items():
        faults.append(Fault(dependency, began=time.monotonic()))
        proxy.blackhole()
        await asyncio.sleep(dark_s)
        proxy.restore()
        faults[-1].ended = time.monotonic()
        await asyncio.sleep(SETTLE_S)
    for fault, after in itertools.pairwise(faults):
        fault.calm_until = after.began - LATE_S
    return faults


def flip_s(history: list[tuple[float, int | None]], since: float, status: int) -> float | None:
    """Seconds from ``since`` until readiness first answered ``status``; None if it never did."""
    return next((t - since for t, s in history if t >= since and s == status), None)


def recovered_s(calls: list[Call], fault: Fault) -> float:
    """Seconds from the restore to the start of the last call that failed, of those the next fault cannot
    have touched (0: none)."""
    failed = [c.started for c in within(calls, fault.ended, fault.calm_until) if not c.ok]
    return max(failed, default=fault.ended) - fault.ended


def within(calls: list[Call], began: float, ended: float) -> list[Call]:
    return [c for c in calls if began <= c.started < ended]


async def run_load(
    rig: Rig, stack, signer, dark_s: float
) -> tuple[list[Call], list[Fault], Samples, uuid.UUID]:
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Blackhole", series_count=DEVICES)
    base_ns = time.time_ns() - 1_800 * 10**9
    until = time.monotonic() + WARM_UP_S + len(rig.proxies) * (dark_s + SETTLE_S)
    samples = Samples()
    channels = [grpc.aio.insecure_channel(rig.ingest.target) for _ in range(DEVICES)]  # a connection a device
    reader = grpc.aio.insecure_channel(rig.analytics.target)
    stubs = [ingest_pb2_grpc.IngestServiceStub(channel) for channel in channels]
    query = query_pb2_grpc.QueryServiceStub(reader)

    def batch(n: int) -> Awaitable[Call]:
        return send_batch(stubs[n % DEVICES], tenant.credential, tenant.series_ids[n % DEVICES], n, base_ns)

    def read(n: int) -> Awaitable[Call]:
        """With a token of its own, as the gateway mints one a request: they expire within a minute."""
        return read_aggregate(
            query, _as(signer, tenant.id), tenant.series_ids[n % DEVICES], base_ns, base_ns + 3_600 * 10**9
        )

    try:
        batches, reads, faults, _, _ = await asyncio.gather(
            paced(BATCHES_PER_S, until, batch),
            paced(READS_PER_S, until, read),
            inflict(rig.proxies, dark_s),
            probe({p.name: p.target for p in rig.processes}, until, samples),
            sample(rig, until, samples),
        )
    finally:
        for channel in [*channels, reader]:
            await channel.close()
    return batches + reads, faults, samples, tenant.id


def seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.2f} s"


def fault_lines(calls: list[Call], fault: Fault, samples: Samples, figures: dict) -> list[str]:
    """What each kind of call and each process's readiness did through one fault; the flips go in ``figures``."""
    lines = []
    for kind in ("ingest", "read"):
        dark = [c for c in within(calls, fault.began, fault.ended) if c.kind == kind]
        ok = [c.took for c in dark if c.ok]
        recovered = recovered_s([c for c in calls if c.kind == kind], fault)
        lines.append(
            f"  {fault.dependency} dark, {kind}: {len(ok)} of {len(dark)} succeeded (slowest {max(ok, default=0):.2f} s),"
            f" codes {sorted({c.code.name for c in dark})}; last failure started {recovered:.2f} s after restore"
        )
    for name, history in samples.health.items():
        down, up = flip_s(history, fault.began, NOT_SERVING), flip_s(history, fault.ended, SERVING)
        figures[f"{fault.dependency} {name} flips"] = (down, up)
        lines.append(
            f"  {fault.dependency} dark, {name} readiness: NOT_SERVING after {seconds(down)},"
            f" SERVING {seconds(up)} after restore"
        )
    return lines


def report(calls: list[Call], faults: list[Fault], samples: Samples, dark_s: float) -> dict:
    """The figures, printed, and returned for the assertions."""
    figures = {"slowest": max(c.took for c in calls), "late": [c for c in calls if c.took > LATE_S]}
    figures["unclear"] = [c for c in calls if not c.ok and (c.code not in CLEAR or not c.details)]
    lines = [f"D7 blackhole {dark_s:g} s under load: {len(calls)} calls, slowest {figures['slowest']:.2f} s"]
    for fault in faults:
        lines += fault_lines(calls, fault, samples, figures)
    for name, rss in samples.rss_mb.items():
        marks = [("start", rss[0][0])] + [
            (f"{f.dependency} {edge}", t)
            for f in faults
            for edge, t in (("dark", f.began), ("back", f.ended))
        ]
        at = ", ".join(
            f"{mark} {next((mb for t, mb in rss if t >= when), rss[-1][1]):.1f}" for mark, when in marks
        )
        lines.append(f"  {name} RSS MB: {at}, end {rss[-1][1]:.1f}, peak {max(mb for _, mb in rss):.1f}")
    for name, counts in {**samples.sockets, **samples.backends}.items():
        lines.append(f"  {name}: connections peak {max(counts)}, end {counts[-1]}")
    print("\n".join(lines))
    return figures


def assert_calls(calls: list[Call], faults: list[Fault], figures: dict) -> None:
    """On time, failing clearly, all succeeding outside the faults, and through Redis's: nothing needs it to store."""
    assert figures["late"] == [] and figures["unclear"] == [], (figures["late"], figures["unclear"])
    # a call started less than its deadline before the first fault may meet it, as calm_until has it between faults
    healthy = within(calls, 0, faults[0].began - LATE_S) + [
        c for fault in faults for c in within(calls, fault.ended + RECOVER_BOUND_S, fault.calm_until)
    ]
    redis = next(fault for fault in faults if fault.dependency == "redis")
    for expected_ok in (healthy, within(calls, redis.began, redis.ended)):
        assert expected_ok and all(c.ok for c in expected_ok), [c for c in expected_ok if not c.ok]


def assert_ready_and_bounded(faults: list[Fault], samples: Samples, figures: dict) -> None:
    """Readiness follows the dependencies a process has; memory and connections stay within bounds."""
    for fault in faults:
        for name in samples.health:
            down, up = figures[f"{fault.dependency} {name} flips"]
            if fault.dependency in DEPENDS_ON[name]:
                assert down <= FLIP_BOUND_S and up <= FLIP_BOUND_S, (fault.dependency, name, down, up)
            else:  # a dependency it does not have: ready all along
                assert down is None, (fault.dependency, name, down)
    for name, rss in samples.rss_mb.items():
        assert max(mb for _, mb in rss) - rss[0][1] < RSS_GROWTH_MB, (name, rss)
    for name, counts in samples.sockets.items():
        assert max(counts) <= (MAX_CONNECTIONS if name.endswith("redis") else DEFAULT_POOL_SIZE), (
            name,
            counts,
        )
    assert all(max(counts) <= DEFAULT_POOL_SIZE for counts in samples.backends.values()), samples.backends


async def assert_stored(calls: list[Call], admin_url: str, tenant_id: uuid.UUID) -> None:
    """Every acknowledged point stored with its value; nothing twice, nothing that was not sent."""
    sent = {key: value for c in calls for key, value in c.points.items()}
    acknowledged = {key: value for c in calls if c.ok for key, value in c.points.items()}
    total, pairs, stored = await asyncio.to_thread(stored_pairs, admin_url, tenant_id)
    print(f"  {len(acknowledged)} points acknowledged of {len(sent)} sent; {total} stored")
    assert total == len(pairs)
    assert {key: stored.get(key) for key in acknowledged} == acknowledged
    assert pairs <= sent.keys()


async def blackholes_under_load(rig: Rig, stack, signer, dark_s: float) -> None:
    calls, faults, samples, tenant_id = await run_load(rig, stack, signer, dark_s)
    figures = report(calls, faults, samples, dark_s)
    assert_calls(calls, faults, figures)
    assert_ready_and_bounded(faults, samples, figures)
    await assert_stored(calls, stack.admin_url, tenant_id)


async def test_5_s_blackholes_of_postgres_and_redis_under_load(rig, stack, signer):
    """RELIABILITY D7: each dependency blackholed 5 s under 20 batches/s and 5 reads/s: every call ends by its
    deadline +10 % (failures UNAVAILABLE or DEADLINE_EXCEEDED, with a message), readiness flips within 5 s both
    ways, calls succeed again within 3 s of the restore, RSS and connections bounded, acknowledged == stored."""
    await blackholes_under_load(rig, stack, signer, dark_s=5.0)


@pytest.mark.long
async def test_30_s_blackholes_of_postgres_and_redis_under_load(rig, stack, signer):
    """RELIABILITY D7: the same with each dependency dark for 30 s, the row's figure."""
    await blackholes_under_load(rig, stack, signer, dark_s=30.0)
