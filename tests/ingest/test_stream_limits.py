"""RELIABILITY R2: a tenant's open Ingest streams are capped per process and idle streams are closed, on a
real ingest server (its own, with a cap of 5 streams and a 1 s idle timeout) and the stack's tenancy."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from services.ingest.config import IngestSettings
from services.ingest.server import IngestServer
from services.runtime.settings import ServiceSettings, role_url
from sfcloud.v1 import ingest_pb2, ingest_pb2_grpc
from tests.e2e.provision import create_tenant, device_metadata
from tests.e2e.test_bad_input import reason_of

CAP = 5
IDLE_S = 1.0


@pytest.fixture
async def capped(stack, admin_url, redis_url, signing_key):
    service = ServiceSettings(
        "ingest", "127.0.0.1:0", role_url(admin_url, "sf_ingest", None), signing_key, shutdown_grace_s=2
    )
    settings = IngestSettings(
        service, stack.targets["tenancy"], redis_url, streams_per_tenant=CAP, stream_idle_s=IDLE_S
    )
    server = IngestServer(settings)
    port = await server.start()
    yield server, f"127.0.0.1:{port}"
    await server.stop()


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
        return await asyncio.wait_for(self.call.read(), 10)

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
