"""Request metrics (`services/runtime/metrics.py`): every gRPC call a service answers is recorded as it ends
in `rpc.server.call.duration`, by method and status, whether it returned, failed, ran past its deadline or
was cancelled by its caller; every HTTP request to the gateway in `http.server.duration` (OpenTelemetry's
ASGI middleware); every batch ingest acknowledges in `sfcloud.ingest.batch.duration`, with the points it stored,
as a device's Ingest call is one stream of many batches. Read through the SDK as an exporter reads them: an
operator's rates, errors and latencies."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import grpc
import httpx
import pytest

from services.runtime.boundary import BoundaryInterceptor
from services.runtime.errors import ResourceExhausted
from services.runtime.principal import Kind, Principal, Role
from services.runtime.tokens import METADATA_KEY
from sf.seeding import one_value_each, send_batches
from sfcloud.v1 import tenancy_pb2 as pb
from sfcloud.v1 import tenancy_pb2_grpc
from tests.e2e.provision import create_tenant
from tests.gateway.test_live_relay import until
from tests.security.test_boundary_errors import Anyone, failing

CALLS = "rpc.server.call.duration"
LIST_ASSETS = "sfcloud.v1.TenancyService/ListAssets"


def data_points(reader, name: str) -> Iterator:
    """The points of the metric ``name`` as the reader reads them now, cumulative."""
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == name:
                    yield from metric.data.data_points


def histogram(reader, name: str) -> dict[frozenset, tuple[int, float]]:
    """Each point of the histogram ``name``: its attributes → (count, sum)."""
    return {
        frozenset(point.attributes.items()): (point.count, point.sum) for point in data_points(reader, name)
    }


def calls(reader, method: str) -> dict[str, tuple[int, float]]:
    """``method``'s calls so far by status: (count, seconds in all)."""
    of_method = {("rpc.system.name", "grpc"), ("rpc.method", method)}
    return {
        dict(attributes)["rpc.response.status_code"]: point
        for attributes, point in histogram(reader, CALLS).items()
        if of_method <= attributes
    }


def since(before: dict, after: dict) -> dict[str, tuple[int, float]]:
    """What was recorded between two readings, by key."""
    return {
        key: (count - before.get(key, (0, 0.0))[0], total - before.get(key, (0, 0.0))[1])
        for key, (count, total) in after.items()
        if count != before.get(key, (0, 0.0))[0]
    }


async def slow(request: bytes, context) -> bytes:
    await asyncio.sleep(5)
    return b""


async def stream_then_refuse(request: bytes, context):
    yield b"one"
    raise ResourceExhausted("no more for now", reason="TEST_REFUSED")


@pytest.fixture
async def boundary():
    """A server behind the boundary with a handler for each way a call ends."""
    server = grpc.aio.server(interceptors=[BoundaryInterceptor(Anyone())])

    async def ok(request: bytes, context) -> bytes:
        return request

    handlers = {
        "Ok": grpc.unary_unary_rpc_method_handler(ok),
        "Bug": failing(RuntimeError("a bug")),
        "Slow": grpc.unary_unary_rpc_method_handler(slow),
        "Refused": grpc.unary_stream_rpc_method_handler(stream_then_refuse),
    }
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler("test.Metrics", handlers)])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield f"127.0.0.1:{port}"
    await server.stop(None)


async def test_each_way_a_call_ends_is_recorded_with_its_status(boundary, metric_reader):
    methods = [f"test.Metrics/{name}" for name in ("Ok", "Bug", "Slow", "Refused")]
    before = {method: calls(metric_reader, method) for method in methods}
    async with grpc.aio.insecure_channel(boundary) as channel:
        await channel.unary_unary("/test.Metrics/Ok")(b"", timeout=5)
        with pytest.raises(grpc.aio.AioRpcError):
            await channel.unary_unary("/test.Metrics/Bug")(b"", timeout=5)
        with pytest.raises(grpc.aio.AioRpcError):
            await channel.unary_unary("/test.Metrics/Slow")(b"", timeout=0.2)
        cancelled = channel.unary_unary("/test.Metrics/Slow")(b"", timeout=5)
        await asyncio.sleep(0.2)
        cancelled.cancel()
        streamed = []
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            async for message in channel.unary_stream("/test.Metrics/Refused")(b"", timeout=5):
                streamed.append(message)
        assert streamed == [b"one"] and refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED

        def recorded() -> dict[str, dict[str, int]]:
            now = {method: since(before[method], calls(metric_reader, method)) for method in methods}
            return {method: {status: n for status, (n, _) in by.items()} for method, by in now.items()}

        expected = {
            "test.Metrics/Ok": {"OK": 1},
            "test.Metrics/Bug": {"INTERNAL": 1},
            "test.Metrics/Slow": {"DEADLINE_EXCEEDED": 1, "CANCELLED": 1},
            "test.Metrics/Refused": {"RESOURCE_EXHAUSTED": 1},
        }
        await until(lambda: recorded() == expected)  # a server learns of a cancel a moment after its caller
    slow_s = since(before["test.Metrics/Slow"], calls(metric_reader, "test.Metrics/Slow"))
    assert 0.15 <= slow_s["DEADLINE_EXCEEDED"][1] < 1.0 and 0.15 <= slow_s["CANCELLED"][1] < 1.0, slow_s


async def test_a_services_calls_are_recorded_with_the_time_they_took(stack, signer, metric_reader):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Call metrics")
    owner = Principal(Kind.USER, str(uuid.uuid4()), tenant_id=tenant.id, role=Role.OWNER)
    metadata = ((METADATA_KEY, signer.sign(owner)),)
    before = calls(metric_reader, LIST_ASSETS)
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
        stub = tenancy_pb2_grpc.TenancyServiceStub(channel)
        started = time.perf_counter()
        for _ in range(3):
            await stub.ListAssets(pb.ListAssetsRequest(), metadata=metadata, timeout=10)
        took = time.perf_counter() - started
        with pytest.raises(grpc.aio.AioRpcError) as bad_token:
            await stub.ListAssets(
                pb.ListAssetsRequest(page_token="not a token"), metadata=metadata, timeout=10
            )
        with pytest.raises(grpc.aio.AioRpcError) as anonymous:
            await stub.ListAssets(pb.ListAssetsRequest(), timeout=10)
    assert (bad_token.value.code(), anonymous.value.code()) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.UNAUTHENTICATED,
    )
    recorded = since(before, calls(metric_reader, LIST_ASSETS))
    assert {status: n for status, (n, _) in recorded.items()} == {
        "OK": 3,
        "INVALID_ARGUMENT": 1,
        "UNAUTHENTICATED": 1,
    }
    assert 0 < recorded["OK"][1] < took  # the server's time, within what the caller waited


async def test_the_gateways_requests_are_recorded_by_status(stack, metric_reader):
    def by_status() -> dict[int, int]:
        counts: dict[int, int] = {}
        for attributes, (count, _) in histogram(metric_reader, "http.server.duration").items():
            status = dict(attributes).get("http.status_code")
            counts[status] = counts.get(status, 0) + count
        return counts

    before = by_status()
    async with httpx.AsyncClient(base_url=stack.gateway_url) as http:
        assert (await http.get("/login")).status_code == 200
        assert (await http.get("/no-such-page")).status_code == 404
        assert (
            await http.post("/graphql", content=b"{", headers={"content-type": "application/json"})
        ).status_code == 400
    after = by_status()
    assert {status: after[status] - before.get(status, 0) for status in (200, 404, 400)} == {
        200: 1,
        404: 1,
        400: 1,
    }


def points_stored(reader) -> int:
    return sum(point.value for point in data_points(reader, "sfcloud.ingest.points.stored"))


async def test_each_batch_on_an_ingest_stream_is_recorded_with_its_points(stack, signer, metric_reader):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Batch metrics", series_count=2)
    live = frozenset({("sfcloud.lane", "live")})
    batches_before = histogram(metric_reader, "sfcloud.ingest.batch.duration").get(live, (0, 0.0))
    points_before, calls_before = (
        points_stored(metric_reader),
        calls(metric_reader, "sfcloud.v1.IngestService/Ingest"),
    )
    started = time.perf_counter()
    acks = await send_batches(
        stack.targets["ingest"],
        tenant.credential,
        [one_value_each(tenant.series_ids, 1.0, n) for n in (1, 2, 3)],
    )
    took = time.perf_counter() - started
    assert [ack.points_stored for ack in acks] == [2, 2, 2]
    count, seconds = histogram(metric_reader, "sfcloud.ingest.batch.duration")[live]
    assert count - batches_before[0] == 3 and 0 < seconds - batches_before[1] < took
    assert points_stored(metric_reader) - points_before == 6
    await until(
        lambda: (
            since(calls_before, calls(metric_reader, "sfcloud.v1.IngestService/Ingest")).get("OK", (0,))[0]
            == 1
        )
    )
