"""The fault proxy, against a real asyncio echo server and a real gRPC server (the standard health service)."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from sf.inprocess import free_port
from tests.faults.proxy import DATA, HEADERS, FaultProxy, Frame, FrameScanner

SETTINGS, PING, WINDOW_UPDATE = 0x4, 0x6, 0x8
SERVING = health_pb2.HealthCheckResponse.SERVING


def frame(kind: int, stream_id: int, payload: bytes, flags: int = 0) -> bytes:
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream_id.to_bytes(4, "big") + payload


# What a gRPC server sends for one unary call, after its SETTINGS: headers, the message, trailers.
FRAMES = [
    (Frame(SETTINGS, 0, 0, 6), frame(SETTINGS, 0, b"\0\x03\0\0\0\x64")),
    (Frame(WINDOW_UPDATE, 0, 0, 4), frame(WINDOW_UPDATE, 0, b"\0\0\x10\0")),
    (Frame(HEADERS, 4, 1, 3), frame(HEADERS, 1, b"\x88\x5f\x8b", flags=4)),
    (Frame(DATA, 0, 1, 7), frame(DATA, 1, b"\0\0\0\0\x02\x08\x01")),
    (Frame(HEADERS, 5, 1, 2), frame(HEADERS, 1, b"\x40\x8a", flags=5)),
    (Frame(PING, 1, 0, 8), frame(PING, 0, b"pingpong", flags=1)),
    (Frame(DATA, 0, 3, 0), frame(DATA, 3, b"")),
]
STREAM = b"".join(raw for _, raw in FRAMES)


@pytest.mark.parametrize("size", [1, 2, 5, 9, 10, 13, 64])
def test_the_scanner_finds_every_frame_however_the_stream_is_chunked(size):
    scanner = FrameScanner()
    found = [f for i in range(0, len(STREAM), size) for f in scanner.feed(STREAM[i : i + size])]
    assert found == [f for f, _ in FRAMES]


def test_a_frame_is_reported_in_the_chunk_that_completes_its_header():
    data_at = len(b"".join(raw for _, raw in FRAMES[:3]))
    scanner = FrameScanner()
    assert not any(f.is_response_data for f in scanner.feed(STREAM[: data_at + 4]))
    assert [f.type for f in scanner.feed(STREAM[data_at + 4 : data_at + 12])] == [DATA]
    assert [f.type for f in scanner.feed(STREAM[data_at + 12 :])] == [HEADERS, PING, DATA]


def test_only_data_on_a_stream_counts_as_a_response():
    assert [f.is_response_data for f, _ in FRAMES] == [False, False, False, True, False, False, True]
    assert not Frame(DATA, 0, 0, 5).is_response_data


# -- raw TCP, through an echo server and a byte sink ------------------------------------------------


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(1 << 16):
        writer.write(data)
        await writer.drain()
    writer.close()


@pytest.fixture(scope="module")
async def echo_server():
    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()


@pytest.fixture
async def proxy(echo_server):
    async with FaultProxy("127.0.0.1", echo_server) as running:
        yield running


async def roundtrip(proxy: FaultProxy, message: bytes = b"hello") -> tuple:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(message)
    assert await asyncio.wait_for(reader.readexactly(len(message)), 2) == message
    return reader, writer


async def test_bytes_pass_through_both_ways(proxy):
    _, writer = await roundtrip(proxy)
    await roundtrip(proxy, bytes(range(256)) * 1000)
    assert proxy.connections == 2 and proxy.target == f"127.0.0.1:{proxy.port}"
    writer.close()


async def test_it_carries_more_than_100_mb_a_second():
    total, chunk = 50 * 1024 * 1024, bytes(1 << 20)
    received = asyncio.get_running_loop().create_future()

    async def sink(reader, writer):
        count = 0
        while count < total:
            count += len(await reader.read(1 << 20))
        received.set_result(count)
        writer.close()

    server = await asyncio.start_server(sink, "127.0.0.1", 0)
    async with FaultProxy("127.0.0.1", server.sockets[0].getsockname()[1]) as through:
        _, writer = await asyncio.open_connection("127.0.0.1", through.port)
        started = time.perf_counter()
        for _ in range(total // len(chunk)):
            writer.write(chunk)
            await writer.drain()
        assert await asyncio.wait_for(received, 10) == total
        elapsed = time.perf_counter() - started
    server.close()
    print(f"fault proxy: {total / elapsed / 1e6:.0f} MB/s")
    assert elapsed < 0.5, f"50 MB took {elapsed:.2f} s"


async def test_a_delay_holds_every_chunk_in_both_directions_and_keeps_the_order(proxy):
    proxy.delay(0.1)
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    started = time.perf_counter()
    parts = [str(i).encode() * 100 for i in range(50)]
    for part in parts:
        writer.write(part)
        await asyncio.sleep(0.001)
    assert await asyncio.wait_for(reader.readexactly(sum(map(len, parts))), 5) == b"".join(parts)
    assert 0.2 <= time.perf_counter() - started < 0.6
    proxy.pass_through()
    started = time.perf_counter()
    await roundtrip(proxy)
    assert time.perf_counter() - started < 0.1
    writer.close()


async def test_a_blackhole_swallows_bytes_until_restore_resets_its_connections(proxy):
    reader, writer = await roundtrip(proxy)
    proxy.blackhole()
    writer.write(b"lost")
    late_reader, late_writer = await asyncio.open_connection("127.0.0.1", proxy.port)  # accepted...
    late_writer.write(b"lost too")
    for stream in (reader, late_reader):
        with pytest.raises(TimeoutError):  # ...but nothing comes back
            await asyncio.wait_for(stream.read(1), 0.3)
    proxy.restore()
    for stream in (reader, late_reader):
        with pytest.raises(ConnectionResetError):
            await asyncio.wait_for(stream.read(1), 2)
    await roundtrip(proxy)


async def test_reset_all_aborts_every_connection_with_rst(proxy):
    links = [await roundtrip(proxy) for _ in range(3)]
    proxy.reset_all()
    for reader, _ in links:
        with pytest.raises(ConnectionResetError):
            await asyncio.wait_for(reader.read(1), 2)
    await roundtrip(proxy)


async def test_refuse_closes_the_port_until_restore_listens_on_it_again(proxy):
    reader, _ = await roundtrip(proxy)
    proxy.refuse()
    with pytest.raises(ConnectionResetError):  # open ones reset
        await asyncio.wait_for(reader.read(1), 2)
    with pytest.raises(ConnectionRefusedError):  # new ones refused
        await asyncio.open_connection("127.0.0.1", proxy.port)
    proxy.restore()
    await roundtrip(proxy)


async def test_reset_every_resets_each_nth_new_connection_on_its_first_bytes(proxy):
    survivor, survivor_writer = await roundtrip(proxy)
    proxy.reset_every(3)
    outcomes = []
    for _ in range(9):
        try:
            await roundtrip(proxy)
            outcomes.append("ok")
        except (ConnectionResetError, asyncio.IncompleteReadError):
            outcomes.append("reset")
    assert outcomes == ["ok", "ok", "reset"] * 3 and proxy.resets == 3
    proxy.pass_through()
    await roundtrip(proxy)
    survivor_writer.write(b"still here")  # open before: untouched
    assert await asyncio.wait_for(survivor.readexactly(10), 2) == b"still here"
    survivor_writer.close()


async def test_it_forwards_to_a_unix_socket(tmp_path):
    path = str(tmp_path / "echo.sock")
    server = await asyncio.start_unix_server(echo, path)
    async with FaultProxy(path, None) as through:
        await roundtrip(through, b"over a unix socket")
    server.close()


async def test_a_client_reaching_a_dead_server_is_reset():
    async with FaultProxy("127.0.0.1", free_port()) as proxy:  # nothing listens there
        reader, _ = await asyncio.open_connection("127.0.0.1", proxy.port)
        with pytest.raises(ConnectionResetError):
            await asyncio.wait_for(reader.read(1), 2)


# -- gRPC over HTTP/2 --------------------------------------------------------------------------------


class CountingHealth(health.aio.HealthServicer):
    """The standard health service, counting the checks it answered."""

    def __init__(self) -> None:
        super().__init__()
        self.checks = 0

    async def Check(self, request, context):
        self.checks += 1
        return await super().Check(request, context)


@pytest.fixture(scope="module")
async def grpc_server():
    server, servicer = grpc.aio.server(), CountingHealth()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield port, servicer
    await server.stop(0)


@pytest.fixture
async def grpc_proxy(grpc_server):
    async with FaultProxy("127.0.0.1", grpc_server[0], seed=7) as running:
        yield running


@pytest.fixture
async def health_stub(grpc_proxy):
    async with grpc.aio.insecure_channel(grpc_proxy.target) as channel:
        yield health_pb2_grpc.HealthStub(channel)


async def check(stub, deadline: float = 2) -> int:
    return (await stub.Check(health_pb2.HealthCheckRequest(), timeout=deadline)).status


async def recovered(stub, attempts: int = 10) -> int:
    """Check as a client that retries UNAVAILABLE: right after a reset, gRPC may still send the next call
    on the dead connection (UNAVAILABLE, "sendmsg: Broken pipe") before it notices and reconnects."""
    for _ in range(attempts - 1):
        try:
            return await check(stub)
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.UNAVAILABLE:
                raise
    return await check(stub)


async def test_grpc_calls_pass_through(grpc_proxy, health_stub):
    assert [await check(health_stub) for _ in range(3)] == [SERVING] * 3
    assert grpc_proxy.connections == 1


async def test_a_blackhole_times_grpc_calls_out_and_restore_brings_them_back(grpc_proxy, health_stub):
    """RELIABILITY D7: A blackholed link times calls out at their deadline; restoring it brings them back."""
    assert await check(health_stub) == SERVING
    grpc_proxy.blackhole()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await check(health_stub, deadline=0.5)
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    grpc_proxy.restore()
    assert await recovered(health_stub) == SERVING
    assert grpc_proxy.connections == 2


async def test_reset_all_fails_an_in_flight_grpc_stream_with_unavailable(grpc_proxy, health_stub):
    watch = health_stub.Watch(health_pb2.HealthCheckRequest(), timeout=5)
    assert (await watch.read()).status == SERVING
    grpc_proxy.reset_all()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await watch.read()
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert await recovered(health_stub) == SERVING


async def test_a_cut_loses_the_response_of_a_call_the_server_answered(grpc_server, grpc_proxy, health_stub):
    servicer = grpc_server[1]
    assert [await check(health_stub) for _ in range(2)] == [SERVING] * 2
    before = servicer.checks
    grpc_proxy.cut_after_response(probability=1.0, limit=1)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await check(health_stub)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert servicer.checks - before == 1 and grpc_proxy.cuts == 1  # the server did answer it
    assert [await recovered(health_stub) for _ in range(2)] == [SERVING] * 2
    assert servicer.checks - before == 3 and grpc_proxy.cuts == 1


async def test_cuts_are_random_and_limited(grpc_server, grpc_proxy, health_stub):
    servicer = grpc_server[1]
    before = servicer.checks
    grpc_proxy.cut_after_response(probability=0.3, limit=4)
    assert [await recovered(health_stub) for _ in range(60)] == [SERVING] * 60
    # A cut call was answered, then asked again; a call sent on the dead connection never arrived.
    assert grpc_proxy.cuts == 4 and servicer.checks - before == 60 + 4
    assert grpc_proxy.connections == 1 + 4
