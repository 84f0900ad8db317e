"""Just enough raw HTTP/2 (RFC 9113) to misbehave the way attackers do: pings without calls and streams
opened and reset at once (CVE-2023-44487). The `h2` package is not among our dependencies and gRPC's
own clients cannot send such traffic; the frames are simple enough to write by hand.

Header blocks use HPACK's "literal header field without indexing, new name" form only (RFC 7541
§6.2.2), which every decoder accepts, so no table or Huffman coding is needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from dataclasses import dataclass, field

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY = 0x1, 0x3, 0x4, 0x6, 0x7
END_HEADERS, ACK = 0x4, 0x1
CANCEL, ENHANCE_YOUR_CALM = 0x8, 0xB


def frame(kind: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    return struct.pack(">I", len(payload))[1:] + struct.pack(">BBI", kind, flags, stream_id) + payload


def _literal(name: str, value: str) -> bytes:
    assert len(name) < 127 and len(value) < 127  # one-byte lengths only
    return bytes([0, len(name)]) + name.encode() + bytes([len(value)]) + value.encode()


def grpc_request_headers(stream_id: int, authority: str, path: str) -> bytes:
    """A HEADERS frame opening a gRPC call (no body follows)."""
    block = b"".join(
        _literal(name, value)
        for name, value in (
            (":method", "POST"),
            (":scheme", "http"),
            (":path", path),
            (":authority", authority),
            ("content-type", "application/grpc"),
            ("te", "trailers"),
        )
    )
    return frame(HEADERS, END_HEADERS, stream_id, block)


def rst_stream(stream_id: int) -> bytes:
    return frame(RST_STREAM, 0, stream_id, struct.pack(">I", CANCEL))


def ping(opaque: int) -> bytes:
    return frame(PING, 0, 0, struct.pack(">Q", opaque))


@dataclass
class GoAway:
    last_stream_id: int
    error_code: int
    debug: bytes


@dataclass
class RawConnection:
    """One HTTP/2 connection to ``target`` (host:port): it acknowledges the server's SETTINGS, counts what
    the server sends and keeps its GOAWAY."""

    target: str
    received: dict[int, int] = field(default_factory=dict)  # frame type → count
    goaway: GoAway | None = None
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    _writer: asyncio.StreamWriter | None = None
    _reading: asyncio.Task | None = None

    async def open(self) -> RawConnection:
        host, port = self.target.rsplit(":", 1)
        reader, self._writer = await asyncio.open_connection(host, int(port))
        self._writer.write(PREFACE + frame(SETTINGS, 0, 0))
        self._reading = asyncio.create_task(self._read(reader))
        return self

    async def send(self, data: bytes) -> None:
        self._writer.write(data)
        await self._writer.drain()

    async def close(self) -> None:
        self._writer.close()
        self._reading.cancel()

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):  # the server hung up
                while True:
                    head = await reader.readexactly(9)
                    length = int.from_bytes(head[:3], "big")
                    kind, flags = head[3], head[4]
                    payload = await reader.readexactly(length)
                    self.received[kind] = self.received.get(kind, 0) + 1
                    if kind == SETTINGS and not flags & ACK:
                        await self.send(frame(SETTINGS, ACK, 0))
                    elif kind == GOAWAY:
                        last, code = struct.unpack(">II", payload[:8])
                        self.goaway = GoAway(last & 0x7FFFFFFF, code, payload[8:])
        finally:
            self.closed.set()
