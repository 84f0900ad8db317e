"""RELIABILITY R2: a tenant's open Ingest streams are capped per process and idle streams are closed, on a
real ingest server (its own, with a cap of 5 streams and a 1 s idle timeout; `sf serve ingest` as its own
process where other tenants' latency is measured) and the stack's tenancy."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import grpc
import numpy as np
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from services.ingest.config import IngestSettings
from services.ingest.server import IngestServer
from services.runtime.settings import ServiceSettings, role_url
from sf.inprocess import free_port
from sfcloud.v1 import ingest_pb2, ingest_pb2_grpc
from tests.e2e.provision import create_tenant, device_metadata
from tests.e2e.test_bad_input import reason_of
from tests.faults.processes import ServiceProcess, ingest_env

CAP = 5
IDLE_S = 1.0


@contextlib.asynccontextmanager
async def ingest_server(stack, admin_url, redis_url, signing_key, cap: int, idle_s: float):
    """An ingest server of its own with the given stream cap and idle timeout; it and its target."""
    service = ServiceSettings(
        "ingest", "127.0.0.1:0", role_url(admin_url, "sf_ingest", None), signing_key, shutdown_grace_s=2
    )
    settings = IngestSettings(
        service, stack.targets["tenancy"], redis_url, streams_per_tenant=cap, stream_idle_s=idle_s
    )
    server = IngestServer(settings)
    port = await server.start()
    try:
        yield server, f"127.0.0.1:{port}"
    finally:
        await server.stop()


@pytest.fixture
async def capped(stack, admin_url, redis_url, signing_key):
    async with ingest_server(stack, admin_url, redis_url, signing_key, CAP, IDLE_S) as running:
        yield running


class Stream:
    """One device's Ingest stream, held open until the test closes it or the server ends it."""

    def __init__(self, channel: grpc.aio.Channel, credential: str, series: str) -> None:
        self._queue: asyncio.Queue = asyncio.Queue()
        self._series = series
        self._batch_no = 0
        self.call = ingest_pb2_grpc.IngestServiceStub(channel).Ingest(
            self._requests(), metadata=device_metadata(credential), timeout=60
        )

    async def _requests(self) -> AsyncIterator[ingest_pb2.IngestRequest]:
        while (request := await self._queue.get()) is not None:
            yield request

    async def send_one(self) -> ingest_pb2.IngestResponse:
        """One point, acknowledged."""
        self._batch_no += 1
        point = ingest_pb2.SeriesPoints(series_id=self._series, timestamps_ns=[time.time_ns()], values=[1.0])
        await self._queue.put(ingest_pb2.IngestRequest(batch_no=self._batch_no, series=[point]))
        return await asyncio.wait_for(self.call.read(), 60)

    async def ended(self) -> grpc.StatusCode:
        """The status the stream ends with (waiting for it)."""
        return await asyncio.wait_for(self.call.code(), 10)

    def close(self) -> None:
        self._queue.put_nowait(None)


async def open_streams(channel, tenant, count: int) -> list[Stream]:
    streams = [Stream(channel, tenant.credential, tenant.series_ids[0]) for _ in range(count)]
    for stream in streams:
        assert (await stream.send_one()).points_stored == 1
    return streams


def retry_s(error_call) -> float:
    retry = error_details_pb2.RetryInfo()
    assert any(d.Unpack(retry) for d in rpc_status.from_call(error_call).details)
    return retry.retry_delay.ToTimedelta().total_seconds()


async def test_a_tenant_past_its_stream_cap_is_refused_and_others_are_not(stack, signer, capped):
    server, target = capped
    a = await create_tenant(stack.targets["tenancy"], signer, "Streams A")
    b = await create_tenant(stack.targets["tenancy"], signer, "Streams B")
    async with grpc.aio.insecure_channel(target) as channel:
        held = await open_streams(channel, a, CAP)
        extra = Stream(channel, a.credential, a.series_ids[0])
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await extra.send_one()
        error = refused.value
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert reason_of(error) == "TOO_MANY_STREAMS"
        assert error.details().startswith(f"your tenant already has {CAP} ingest streams open on this server")
        assert retry_s(error) == IDLE_S
        (b_stream,) = await open_streams(channel, b, 1)  # another tenant is not held back
        held[0].close()
        assert await held[0].ended() == grpc.StatusCode.OK
        (again,) = await open_streams(channel, a, 1)  # the place came back
        assert server.streams.open_for(a.id) == CAP
        for stream in [*held[1:], again, b_stream]:
            stream.close()


async def test_idle_streams_are_closed_and_give_their_places_back(stack, signer, capped):
    """Five streams that fall silent after one batch each end with UNAVAILABLE `STREAM_IDLE` within the idle
    timeout (+0.5 s); the tenant can then open five again."""
    server, target = capped
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Idle streams")
    async with grpc.aio.insecure_channel(target) as channel:
        streams = await open_streams(channel, tenant, CAP)
        silent_at = time.perf_counter()
        assert await asyncio.gather(*(s.ended() for s in streams)) == [grpc.StatusCode.UNAVAILABLE] * CAP
        closed_after = time.perf_counter() - silent_at
        details = await streams[0].call.details()
        assert details.startswith(f"nothing sent for {IDLE_S:g} s: stream closed"), details
        print(f"\n{CAP} idle streams closed {closed_after:.2f} s after their last batch (timeout {IDLE_S} s)")
        assert IDLE_S <= closed_after + 0.05 and closed_after < IDLE_S + 0.5
        assert server.streams.open_for(tenant.id) == 0
        again = await open_streams(channel, tenant, CAP)
        for stream in again:
            stream.close()


async def batch_latencies(stream: Stream, count: int) -> np.ndarray:
    """Seconds from sending each of ``count`` one-point batches to its acknowledgement, one after another."""
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        await stream.send_one()
        latencies.append(time.perf_counter() - started)
    return np.array(latencies)


async def test_two_hundred_quiet_streams_are_capped_closed_and_do_not_slow_others(stack, signer, tmp_path):
    """Tenant A opens 200 streams (4 connections of 50) that send one batch and fall silent, on an ingest
    process of its own (`sf serve ingest`) allowing 150 per tenant and closing streams idle for 8 s: 150 are
    held, 50 refused; B's batches keep their p99 within twice (+2 ms) of B's alone, 200 each; A's streams are
    all closed within the idle timeout + 1 s and their places come back."""
    cap, idle_s, quiet, batches = 150, 8, 200, 200
    a = await create_tenant(stack.targets["tenancy"], signer, "Quiet streams A")
    b = await create_tenant(stack.targets["tenancy"], signer, "Quiet streams B")
    limits = {"SF_INGEST_STREAMS_PER_TENANT": str(cap), "SF_INGEST_STREAM_IDLE_S": str(idle_s)}
    async with ServiceProcess("ingest", ingest_env(stack) | limits, free_port(), tmp_path) as ingest:
        channels = [grpc.aio.insecure_channel(ingest.target) for _ in range(5)]
        b_stream = Stream(channels[4], b.credential, b.series_ids[0])
        await b_stream.send_one()  # B's device authenticated and its stream running: then measured
        baseline = await batch_latencies(b_stream, batches)
        streams = [Stream(channels[n % 4], a.credential, a.series_ids[0]) for n in range(quiet)]
        outcomes = await asyncio.gather(*(s.send_one() for s in streams), return_exceptions=True)
        refused = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
        opened_at = time.perf_counter()
        assert len(refused) == quiet - cap and {reason_of(e) for e in refused} == {"TOO_MANY_STREAMS"}
        loaded = await batch_latencies(b_stream, batches)
        held = [s for s, o in zip(streams, outcomes, strict=True) if o not in refused]
        ended = await asyncio.gather(*(s.ended() for s in held))
        closed_s = time.perf_counter() - opened_at
        again = await open_streams(channels[0], a, cap)  # every place came back
        for stream in [*again, b_stream]:
            stream.close()
        for channel in channels:
            await channel.close()
    base_p99, loaded_p99 = np.percentile(baseline, 99), np.percentile(loaded, 99)
    print(
        f"\n{quiet} quiet streams: {cap} held, {len(refused)} refused, all closed {closed_s:.2f} s after opening"
        f" (idle {idle_s} s); B over {batches} batches: median {np.median(baseline) * 1000:.1f} ms alone,"
        f" {np.median(loaded) * 1000:.1f} ms beside them; p99 {base_p99 * 1000:.1f} ms and {loaded_p99 * 1000:.1f} ms"
    )
    assert ended == [grpc.StatusCode.UNAVAILABLE] * cap and closed_s < idle_s + 1
    assert loaded_p99 <= 2 * base_p99 + 0.002
