"""A real local webhook receiver: an HTTP/1.1 server on a free loopback port that keeps every request
(headers, raw body, arrival time) and answers 500 to the first ``fail_first`` of them, 200 after."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float
    status: int

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    def verified(self, secret: str) -> bool:
        """The check docs/ANALYTICS.md tells customers to make: HMAC-SHA256 over "<timestamp>.<raw body>"."""
        timestamp = self.headers["x-sfcloud-timestamp"]
        expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(self.headers["x-sfcloud-signature"], f"v1={expected}")


@dataclass
class WebhookReceiver:
    fail_first: int = 0
    requests: list[Received] = field(default_factory=list)
    url: str = ""
    _server: asyncio.Server | None = None

    async def start(self) -> WebhookReceiver:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/hooks/sfcloud"
        return self

    async def stop(self) -> None:
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            headers = {
                k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in head[1:] if line)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            status = 500 if len(self.requests) < self.fail_first else 200
            self.requests.append(Received(headers, body, time.monotonic(), status))
            reason = "OK" if status == 200 else "Internal Server Error"
            writer.write(
                f"HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            return  # the sender hung up mid-request (a worker stopped): nothing arrived to record
        finally:
            writer.close()

    async def wait_for(self, count: int, timeout_s: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + timeout_s
        while len(self.requests) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.requests)} webhook requests arrived, {count} expected")
            await asyncio.sleep(0.05)
        return self.requests
