"""An asyncio TCP proxy that injects network faults: our stand-in for netem and toxiproxy (RELIABILITY.md).

A test points a client at ``proxy.target`` instead of the server and switches
faults at runtime from its own event loop:

- ``blackhole()``: a dead link. Bytes are read and discarded both ways, new
  connections are accepted and go nowhere; clients notice only through their
  own deadlines and keepalives. ``restore()`` resets (RST) every connection
  that lived through the blackhole, since bytes were lost from its stream.
- ``reset_all()``: RST every connection now.
- ``refuse()``: nothing listens: new connections are refused (RST to the SYN), open ones reset.
  ``restore()`` listens on the same port again.
- ``delay(s)``: every chunk is delivered ``s`` seconds after it arrived, in order.
- ``reset_every(n)``: every n-th new connection is reset (RST) when its client first sends, as a
  flaky middlebox would; connections already open are left alone.
- ``cut_after_response(p, limit)``: "the ack was lost after the commit". Reading
  the server's HTTP/2 frames, a chunk carrying a DATA frame (a gRPC response
  message) is, with probability ``p``, never delivered: both sides are reset
  instead. The server's SETTINGS, PING and WINDOW_UPDATE frames are never cut.
  (Only for an HTTP/2 upstream: the frame headers of anything else are noise.)

A half-close (EOF) from either side closes the whole link: gRPC, PostgreSQL and
Redis clients never half-close, and carrying it would double the bookkeeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

HEADER_BYTES = 9
DATA, HEADERS = 0x0, 0x1
_LINGER_ZERO = struct.pack("ii", 1, 0)
_WRITE_BUFFER = 1 << 20  # a larger buffer than asyncio's 64 KiB pauses reading less often


@dataclass(frozen=True)
class Frame:
    type: int
    flags: int
    stream_id: int
    length: int

    @property
    def is_response_data(self) -> bool:
        return self.type == DATA and self.stream_id != 0


class FrameScanner:
    """Finds the HTTP/2 frame headers in one direction's bytes, however the stream is chunked."""

    def __init__(self) -> None:
        self._header = b""  # a header split across chunks, so far
        self._skip = 0  # payload bytes of the current frame still to come

    def feed(self, chunk: bytes) -> list[Frame]:
        """The frames whose 9-byte header completes in this chunk."""
        frames, pos = [], 0
        while pos < len(chunk):
            if self._skip:
                step = min(self._skip, len(chunk) - pos)
                self._skip, pos = self._skip - step, pos + step
                continue
            wanted = HEADER_BYTES - len(self._header)
            self._header, pos = self._header + chunk[pos : pos + wanted], pos + wanted
            if len(self._header) == HEADER_BYTES:
                frames.append(self._parse(self._header))
                self._header, self._skip = b"", frames[-1].length
        return frames

    @staticmethod
    def _parse(header: bytes) -> Frame:
        length = int.from_bytes(header[:3], "big")
        stream_id = int.from_bytes(header[5:9], "big") & 0x7FFF_FFFF  # the top bit is reserved
        return Frame(type=header[3], flags=header[4], stream_id=stream_id, length=length)


def reset(transport: asyncio.BaseTransport | None) -> None:
    """Close with RST rather than FIN (SO_LINGER 0), as a crashed peer or a middlebox would."""
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    with contextlib.suppress(OSError):  # already closed: nothing to reset
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
    transport.abort()


class _Pipe:
    """One direction of a link: writes chunks to its sink in order, each ``delay`` s after it arrived."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.sink: asyncio.Transport | None = None
        self._queue: deque[tuple[float, bytes | None]] = deque()  # None: close the sink
        self._timer: asyncio.TimerHandle | None = None

    def put(self, chunk: bytes | None, delay: float) -> None:
        if self.sink is not None and not self._queue and delay <= 0:
            self._write(chunk)
            return
        self._queue.append((self._loop.time() + delay, chunk))
        self._arm()

    def attach(self, sink: asyncio.Transport) -> None:
        self.sink = sink
        self._arm()

    def drop(self) -> None:
        self._queue.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _arm(self) -> None:
        if self._timer is None and self.sink is not None and self._queue:
            self._timer = self._loop.call_at(self._queue[0][0], self._flush)

    def _flush(self) -> None:
        self._timer = None
        # The chunk this timer was set for goes first: asyncio may fire a timer a hair early.
        self._write(self._queue.popleft()[1])
        while self._queue and self._queue[0][0] <= self._loop.time():
            self._write(self._queue.popleft()[1])
        self._arm()

    def _write(self, chunk: bytes | None) -> None:
        if self.sink.is_closing():
            return
        if chunk is None:
            self.sink.close()
        else:
            self.sink.write(chunk)


class _End(asyncio.Protocol):
    """One socket of a link (the client's or the upstream's): hands its bytes and flow control to the link."""

    def __init__(self, joined: Callable[[_End], _Link], from_server: bool) -> None:
        self._joined = joined
        self.from_server = from_server
        self.link: _Link | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:
        transport.set_write_buffer_limits(high=_WRITE_BUFFER)
        self.transport = transport
        self.link = self._joined(self)

    def data_received(self, data: bytes) -> None:
        self.link.carry(self.from_server, data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.link.lost(self.from_server)

    def pause_writing(self) -> None:
        self.link.flow(self.from_server, paused=True)

    def resume_writing(self) -> None:
        self.link.flow(self.from_server, paused=False)


class _Link:
    """A client connection and its upstream connection, joined by one pipe each way."""

    def __init__(self, proxy: FaultProxy, client: asyncio.Transport, dark: bool) -> None:
        loop = asyncio.get_running_loop()
        self.proxy = proxy
        self.client, self.upstream = client, None
        self.to_client, self.to_upstream = _Pipe(loop), _Pipe(loop)
        self.to_client.attach(client)
        self.frames = FrameScanner()
        self.dark = dark  # lived through a blackhole: its streams lost bytes
        self.doomed = False  # reset when the client first sends (``reset_every``)
        self.gone = False

    async def connect(self, host: str, port: int | None) -> None:
        loop, end = asyncio.get_running_loop(), lambda: _End(self._joined, from_server=True)
        try:
            if port is None:
                await loop.create_unix_connection(end, host)
            else:
                await loop.create_connection(end, host, port)
        except OSError:
            self.abort()  # the server is down: the client sees a reset, as it would connecting directly

    def _joined(self, end: _End) -> _Link:
        self.upstream = end.transport
        if self.gone:
            reset(self.upstream)
        else:
            self.to_upstream.attach(self.upstream)
        return self

    def carry(self, from_server: bool, chunk: bytes) -> None:
        if self.dark:
            return
        if self.doomed or (from_server and self.proxy._cuts(self.frames.feed(chunk))):
            self.abort()
            return
        (self.to_client if from_server else self.to_upstream).put(chunk, self.proxy.latency)

    def flow(self, from_server: bool, paused: bool) -> None:
        """The transport at ``from_server``'s end is (no longer) full: pause (resume) reading the other."""
        source = self.client if from_server else self.upstream
        if source is not None and not source.is_closing():
            (source.pause_reading if paused else source.resume_reading)()

    def lost(self, from_server: bool) -> None:
        if self.dark:
            return  # a dead link carries no FIN either: it stays listed until restore() resets it
        (self.to_client if from_server else self.to_upstream).put(None, self.proxy.latency)
        self.proxy._links.discard(self)

    def go_dark(self) -> None:
        self.dark = True
        self.to_client.drop()
        self.to_upstream.drop()

    def abort(self) -> None:
        self.gone = True
        self.go_dark()
        reset(self.client)
        reset(self.upstream)
        self.proxy._links.discard(self)


class FaultProxy:
    """Listens on 127.0.0.1:<free port> and forwards to ``upstream_host:upstream_port``, with faults on demand.
    With ``upstream_port`` None, ``upstream_host`` is a unix socket's path (the embedded PostgreSQL listens
    on one only).

    The port is bound at construction, so ``target`` can be handed to a service before ``start()``.
    """

    def __init__(self, upstream_host: str, upstream_port: int | None, *, seed: int | None = None) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self.target = f"127.0.0.1:{self.port}"
        self.connections = 0
        self.cuts = 0
        self.resets = 0  # connections reset by ``reset_every``
        self.latency = 0.0
        self._reset_every = 0
        self._dark = False
        self._accepted_since = 0
        self._cut_probability, self._cuts_left = 0.0, 0
        self._random = random.Random(seed)
        self._links: set[_Link] = set()
        self._connecting: set[asyncio.Task] = set()
        self._server: asyncio.Server | None = None
        self._refusing = False
        self._relistening: asyncio.Task | None = None

    async def start(self) -> FaultProxy:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _End(self._accept, from_server=False), sock=self._sock
        )
        return self

    async def close(self) -> None:
        if self._relistening is not None:
            await self._relistening
        self.reset_all()
        for task in self._connecting:
            task.cancel()
        if self._server is None:
            self._sock.close()
            return
        self._server.close()
        await self._server.wait_closed()

    async def __aenter__(self) -> FaultProxy:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def pass_through(self) -> None:
        """No faults: ends a blackhole (resetting its connections), a delay, any cutting and resetting."""
        self.latency, self._cuts_left, self._reset_every = 0.0, 0, 0
        self._dark = False
        for link in [link for link in self._links if link.dark]:
            link.abort()
        if self._refusing:  # listening (and queueing new connections) from here; accepted once the task runs
            self._refusing = False
            self._sock = socket.create_server(("127.0.0.1", self.port))  # SO_REUSEADDR: links' TIME_WAIT
            self._relistening = asyncio.get_running_loop().create_task(self.start())

    def restore(self) -> None:
        """``pass_through()``, by the name that reads well after ``blackhole()``."""
        self.pass_through()

    def blackhole(self) -> None:
        self._dark = True
        for link in self._links:
            link.go_dark()

    def refuse(self) -> None:
        """Close the listening socket: a new connection is refused, as where nothing listens; open ones are
        reset. ``restore()`` listens on the same port again."""
        if self._refusing:
            return
        self._refusing = True
        self._server.close()  # closes the listening socket, not the links
        self.reset_all()

    def reset_all(self) -> None:
        for link in list(self._links):
            link.abort()

    def delay(self, seconds: float) -> None:
        self.latency = seconds

    def reset_every(self, n: int) -> None:
        """Reset every ``n``-th connection accepted from now on, when its client first sends."""
        self._reset_every, self._accepted_since = n, 0

    def cut_after_response(self, probability: float, limit: int) -> None:
        """Reset the link instead of delivering a server chunk that carries response DATA; at most ``limit`` times."""
        self._cut_probability, self._cuts_left = probability, limit

    def _accept(self, end: _End) -> _Link:
        self.connections += 1
        link = _Link(self, end.transport, dark=self._dark)
        self._links.add(link)
        if self._reset_every:
            self._accepted_since += 1
            link.doomed = self._accepted_since % self._reset_every == 0
            self.resets += link.doomed
        if not self._dark:  # a dead link reaches no server
            task = asyncio.create_task(link.connect(*self.upstream))
            self._connecting.add(task)
            task.add_done_callback(self._connecting.discard)
        return link

    def _cuts(self, frames: list[Frame]) -> bool:
        if self._cuts_left <= 0 or not any(frame.is_response_data for frame in frames):
            return False
        if self._random.random() >= self._cut_probability:
            return False
        self._cuts_left -= 1
        self.cuts += 1
        return True


def through(url: str, proxy: FaultProxy) -> str:
    """``url`` with its server (host and port, or unix socket) replaced by the proxy's TCP port."""
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@{proxy.target}" if credentials else proxy.target
    if parts.scheme == "unix":
        return urlunsplit(("redis", netloc, "", "", ""))
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "host"])
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def upstream_of(url: str) -> tuple[str, int | None]:
    """Where ``url``'s server listens: (host, port), or (unix socket path, None)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path, None
    socket_dir = dict(parse_qsl(parts.query)).get("host")
    if socket_dir:  # PostgreSQL on a unix socket: <dir>/.s.PGSQL.<port>
        port = parts.port or next(Path(socket_dir).glob(".s.PGSQL.*")).suffix.lstrip(".")
        return f"{socket_dir}/.s.PGSQL.{port}", None
    return parts.hostname, parts.port
