"""The SDK's front door for a device that speaks gRPC itself: record samples, the SDK does the rest.

    async with Device("ingest.sfcloud.example:443", credential) as device:
        device.record(series_id, time.time_ns(), 21.5)
    # leaving the block sends what is pending and waits for its acknowledgement

Samples are gathered for ``batch_interval_s`` (or ``max_batch_points``) and sent
as one numbered batch, compressed into tscodec blocks by default. The session
underneath resends whatever the server has not acknowledged after a broken
connection; the backlog is held in memory, so a device that must survive its
own restarts without losing samples should run the edge agent (`sf edge`) or
keep its own durable buffer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import grpc

from sfclient.backlog import Backlog
from sfclient.batches import batch_parts
from sfclient.policy import SessionPolicy
from sfclient.session import DeviceSession, DeviceStats
from sfcloud.v1 import ingest_pb2_grpc

CHANNEL_OPTIONS = (
    ("grpc.keepalive_time_ms", 20_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.max_send_message_length", 16 * 1024 * 1024),
)


def open_channel(target: str, secure: bool, policy: SessionPolicy) -> grpc.aio.Channel:
    """A channel to IngestService with keepalives, so a dead link is noticed within half a minute.

    gRPC's own reconnect backoff (1 s growing to two minutes by default) follows the session's, so a
    device notices the cloud is back as soon as its session retries.
    """
    options = (
        *CHANNEL_OPTIONS,
        ("grpc.initial_reconnect_backoff_ms", int(policy.backoff_initial_s * 1000)),
        ("grpc.max_reconnect_backoff_ms", int(policy.backoff_max_s * 1000)),
    )
    if secure:
        return grpc.aio.secure_channel(target, grpc.ssl_channel_credentials(), options)
    return grpc.aio.insecure_channel(target, options)


class DeviceRejected(Exception):
    """The server refused the device or its data for good (bad credential, unknown series, …)."""


@dataclass(frozen=True)
class DeviceOptions:
    secure: bool = True  # TLS with the system's roots; False only on a trusted network or loopback
    batch_interval_s: float = 1.0
    max_batch_points: int = 10_000
    backlog_points: int = 1_000_000  # unacknowledged points kept; past it the oldest are dropped and counted
    compress: bool = True
    policy: SessionPolicy = field(default_factory=SessionPolicy)


class Device:
    """One device's connection to sfcloud; use it as an async context manager."""

    def __init__(
        self, target: str, credential: str, options: DeviceOptions | None = None, name: str = "device"
    ) -> None:
        self._target, self._credential, self.name = target, credential, name
        self._options = options or DeviceOptions()
        self._pending: dict[str, tuple[list[int], list[float]]] = {}
        self._pending_points = 0
        self._channel: grpc.aio.Channel | None = None
        self._session: DeviceSession | None = None
        self._tasks: list[asyncio.Task] = []

    @property
    def stats(self) -> DeviceStats:
        return self._running_session().stats

    def record(self, series_id: str, ts_ns: int, value: float) -> None:
        """Add one sample to the batch being gathered."""
        self.record_many(series_id, (ts_ns,), (value,))

    def record_many(self, series_id: str, timestamps_ns: Iterable[int], values: Iterable[float]) -> None:
        """Add samples of one series; the batch is sent at once when it reaches ``max_batch_points``."""
        timestamps, samples = self._pending.setdefault(series_id, ([], []))
        before = len(timestamps)
        timestamps.extend(timestamps_ns)
        samples.extend(values)
        if len(timestamps) != len(samples):
            del timestamps[before:], samples[before:]
            raise ValueError(f"series {series_id}: as many timestamps as values are needed")
        self._pending_points += len(timestamps) - before
        if self._pending_points >= self._options.max_batch_points:
            self._cut()

    async def flush(self) -> None:
        """Send what is gathered and wait until everything sent so far is acknowledged."""
        self._cut()
        session = self._running_session()
        await session.drained()
        if session.stats.fatal:
            raise DeviceRejected(session.stats.fatal)

    async def __aenter__(self) -> Device:
        self._channel = open_channel(self._target, self._options.secure, self._options.policy)
        stub = ingest_pb2_grpc.IngestServiceStub(self._channel)
        backlog = Backlog(self._options.backlog_points)
        self._session = DeviceSession(self.name, stub, self._credential, backlog, self._options.policy)
        self._tasks = [asyncio.create_task(self._session.run()), asyncio.create_task(self._tick())]
        return self

    async def __aexit__(self, *exc_info) -> None:
        session_task, ticker = self._tasks
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
        self._cut()
        self._running_session().close()
        await session_task
        await self._channel.close()

    def _running_session(self) -> DeviceSession:
        if self._session is None:
            raise RuntimeError("use the Device inside `async with`")
        return self._session

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self._options.batch_interval_s)
            self._cut()

    def _cut(self) -> None:
        """Hand the gathered samples to the session as one batch."""
        if not self._pending_points:
            return
        series, blocks = batch_parts(self._pending, self._options.compress)
        self._pending, self._pending_points = {}, 0
        self._running_session().offer(series, blocks=blocks)
