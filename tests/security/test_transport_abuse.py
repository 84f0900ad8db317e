"""RELIABILITY R1: HTTP/2 and gRPC transport abuse against a real `sf serve ingest` process, measured from
outside it (its CPU time and RSS through psutil): 16 KiB of metadata, a ping flood without calls, rapid
reset (CVE-2023-44487: streams opened and cancelled at once, from one connection) and oversize messages.
The server must refuse, warn off or drop the abuser and go on serving everyone else."""

from __future__ import annotations

import asyncio
import contextlib
import time

import grpc
import psutil
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.runtime.grpc_server import MAX_MESSAGE_BYTES
from sf.inprocess import free_port
from sfcloud.v1 import ingest_pb2
from tests.e2e.provision import create_tenant, device_metadata, send_batches
from tests.faults.processes import ServiceProcess, ingest_env
from tests.security import h2raw

INGEST = "/sfcloud.v1.IngestService/Ingest"
RAPID_RESETS = 10_000
MB = 1 << 20


@pytest.fixture(scope="module")
async def ingest(stack, tmp_path_factory):
    async with ServiceProcess(
        "ingest", ingest_env(stack), free_port(), tmp_path_factory.mktemp("ingest")
    ) as p:
        yield p


@pytest.fixture(scope="module")
async def tenant(stack, signer):
    return await create_tenant(stack.targets["tenancy"], signer, "Transport abuse")


async def serving(target: str) -> bool:
    async with grpc.aio.insecure_channel(target) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    return reply.status == health_pb2.HealthCheckResponse.SERVING


def one_point(series: str, batch_no: int) -> ingest_pb2.IngestRequest:
    return ingest_pb2.IngestRequest(
        batch_no=batch_no,
        series=[ingest_pb2.SeriesPoints(series_id=series, timestamps_ns=[time.time_ns()], values=[1.0])],
    )


async def test_sixteen_kib_of_metadata_is_refused(ingest, tenant):
    padding = (("x-padding", "p" * (16 << 10)),)
    async with grpc.aio.insecure_channel(ingest.target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await health.Check(health_pb2.HealthCheckRequest(), metadata=padding, timeout=5)
    print(f"\n16 KiB metadata: {refused.value.code().name}: {refused.value.details()}")
    assert refused.value.code() in (grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.INTERNAL)
    acks = await send_batches(ingest.target, tenant.credential, [one_point(tenant.series_ids[0], 1)])
    assert [a.points_stored for a in acks] == [1]


async def test_a_ping_flood_is_told_too_many_pings(ingest):
    """Pings every second on a connection without calls: the server allows one a minute (`grpc_server.py`)
    and answers the third strike with GOAWAY ENHANCE_YOUR_CALM "too_many_pings"."""
    connection = await h2raw.RawConnection(ingest.target).open()
    sent = 0
    try:
        while connection.goaway is None and sent < 6:
            await connection.send(h2raw.ping(sent))
            sent += 1
            await asyncio.wait([asyncio.ensure_future(connection.closed.wait())], timeout=1.0)
    finally:
        await connection.close()
    print(f"\nping flood: GOAWAY after {sent} pings: {connection.goaway}")
    assert connection.goaway is not None
    assert connection.goaway.error_code == h2raw.ENHANCE_YOUR_CALM
    assert connection.goaway.debug == b"too_many_pings"
    assert sent <= 4  # a first ping, two strikes tolerated, the third refused
    assert await serving(ingest.target)


async def test_rapid_reset_leaves_the_server_serving_others(ingest, tenant):
    """10,000 streams opened and reset at once from one connection while a device sends batches: the
    device's calls all succeed, the server stays under one core and its memory stays put."""
    process = psutil.Process(ingest.pid)
    rss_before, cpu_before, started = process.memory_info().rss, process.cpu_times(), time.perf_counter()
    legit = asyncio.create_task(steady_device(ingest.target, tenant))
    connection = await h2raw.RawConnection(ingest.target).open()
    burst = b"".join(
        h2raw.grpc_request_headers(s, ingest.target, INGEST) + h2raw.rst_stream(s)
        for s in range(1, 2 * RAPID_RESETS, 2)
    )
    try:
        with contextlib.suppress(ConnectionError):  # dropped mid-burst: one way to refuse it
            for chunk in range(0, len(burst), 64 << 10):  # as fast as the socket takes them
                await connection.send(burst[chunk : chunk + 64 << 10])
            await asyncio.wait([asyncio.ensure_future(connection.closed.wait())], timeout=2.0)
    finally:
        await connection.close()
    burst_s = time.perf_counter() - started
    ok, failed = await legit
    cpu_after = process.cpu_times()
    cpu = (cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system)
    wall = time.perf_counter() - started
    rss_growth = (process.memory_info().rss - rss_before) / MB
    print(
        f"\nrapid reset: {RAPID_RESETS} streams sent in {burst_s:.2f} s; server CPU {cpu:.2f} s over {wall:.2f} s;"
        f" GOAWAY {connection.goaway}; frames back {connection.received}; device {ok} ok, {failed} failed;"
        f" RSS {rss_growth:+.1f} MB"
    )
    assert failed == [] and ok == 20
    assert cpu / wall < 1.0
    assert rss_growth < 20
    assert await serving(ingest.target)


async def steady_device(target: str, tenant, calls: int = 20) -> tuple[int, list[str]]:
    """A device sending one batch per call, ``calls`` calls, 0.1 s apart: how many succeeded, the failures."""
    ok, failed = 0, []
    for n in range(calls):
        try:
            acks = await send_batches(target, tenant.credential, [one_point(tenant.series_ids[1], 1)])
            ok += len(acks) == 1
        except grpc.aio.AioRpcError as error:
            failed.append(f"{error.code().name}: {error.details()}")
        await asyncio.sleep(0.1)
    return ok, failed


async def test_oversize_messages_are_refused_without_growing_the_server(ingest, tenant):
    """Messages of 16 MiB + 1: RESOURCE_EXHAUSTED each. After the first (which sizes the allocator's buffers
    once), twenty more grow the server's RSS by less than three such messages: each of the process's two
    malloc arenas may keep a receive buffer, with the allocator's slack (+26 MB once on CI, +38 MB once in a
    full run on 2026-12-07, +2-26 MB alone), while a leak would keep all twenty (+320 MB)."""
    process = psutil.Process(ingest.pid)
    huge = ingest_pb2.IngestRequest(
        batch_no=1,
        blocks=[ingest_pb2.SeriesBlock(series_id=tenant.series_ids[0], payload=b"\0" * MAX_MESSAGE_BYTES)],
    )
    rss = [process.memory_info().rss]
    async with grpc.aio.insecure_channel(
        ingest.target, options=[("grpc.max_send_message_length", -1)]
    ) as channel:
        ingest_call = channel.stream_stream(
            INGEST, ingest_pb2.IngestRequest.SerializeToString, ingest_pb2.IngestResponse.FromString
        )
        for _ in range(21):
            call = ingest_call(iter([huge]), metadata=device_metadata(tenant.credential), timeout=30)
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                [ack async for ack in call]
            assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            rss.append(process.memory_info().rss)
    first, then = (rss[1] - rss[0]) / MB, (rss[-1] - rss[1]) / MB
    print(f"\noversize messages: server RSS {first:+.1f} MB after the first, {then:+.1f} MB through 20 more")
    assert then < 3 * MAX_MESSAGE_BYTES / MB
    assert await serving(ingest.target)
