"""Carrying the buffer to the cloud: batches cut from SQLite, sent on one resending Ingest session.

At start the batches an earlier run cut and never saw acknowledged are offered again under their
own numbers; then, while fewer than ``window`` batches are in flight, the oldest waiting readings
become the next batch. An acknowledgement deletes its batch from the buffer. While the agent is
behind (readings wait after the batch), or when the batch's newest reading is older than
``live_window_s``, it goes on the backfill lane (its own quota, lower priority), so draining a
backlog after an outage neither is cut off by the live quota nor delays other devices' live data. So
does a live batch that an outage held back past ``live_window_s`` (the session moves it), and every
batch left from the run before.

The backfill lane is paced at ``drain_multiple`` times the plant's measured rate (never below
``drain_min_points_per_s``): a ten-minute outage drains in about two and a half minutes while the
plant goes on producing, rather than in one burst that other tenants' devices would feel.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from edge.arrivals import ArrivalRate
from edge.buffer import BACKFILL, Buffer, StoredBatch
from edge.readings import Reading
from sfclient.backlog import Backlog, Batch
from sfclient.batches import batch_parts
from sfclient.pacing import Pacer
from sfclient.policy import SessionPolicy
from sfclient.session import DeviceSession
from sfcloud.v1 import ingest_pb2, ingest_pb2_grpc


@dataclass(frozen=True)
class ForwardOptions:
    batch_points: int = 5_000
    window: int = 4  # batches in flight at once
    compress: bool = True
    drain_multiple: float = 5.0  # the backfill lane's pace, in times the plant's own rate
    drain_min_points_per_s: float = 1_000.0  # a slow plant's backlog still drains at this pace
    policy: SessionPolicy = field(default_factory=SessionPolicy)


class BufferSink:
    """The sources' sink: a write returns once SQLite has committed it, and wakes the forwarder."""

    def __init__(self, buffer: Buffer) -> None:
        self._buffer = buffer
        self.arrived = asyncio.Event()
        self.arrivals = ArrivalRate()

    async def write(self, readings: Sequence[Reading]) -> None:
        if readings:
            self._buffer.append(list(readings))
            self.arrivals.record(len(readings))
            self.arrived.set()


class Forwarder:
    def __init__(
        self,
        buffer: Buffer,
        sink: BufferSink,
        stub: ingest_pb2_grpc.IngestServiceStub,
        credential: str,
        options: ForwardOptions | None = None,
    ) -> None:
        self._buffer, self._sink = buffer, sink
        self._options = options or ForwardOptions()
        budget = self._options.batch_points * (self._options.window + 1)
        self.session = DeviceSession(
            "edge",
            stub,
            credential,
            Backlog(budget),
            self._options.policy,
            session_id=buffer.session_id,
            on_ack=self._acknowledged,
            backfill_pacer=Pacer("edge", self._drain_limit),
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Forward until ``stop`` is set, then send what is cut and wait briefly for its acknowledgements."""
        for (
            batch
        ) in self._buffer.unacknowledged():  # a backlog of the run before: backfill, whatever it was cut as
            self._offer(dataclasses.replace(batch, lane=BACKFILL))
        sending = asyncio.create_task(self.session.run())
        try:
            await self._cut_until(stop, sending)
        finally:
            self.session.close()
            await sending

    async def _cut_until(self, stop: asyncio.Event, sending: asyncio.Task) -> None:
        while not stop.is_set() and not sending.done():
            if self.session.unacknowledged < self._options.window and self._cut_one():
                continue
            self._sink.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._sink.arrived.wait(), 0.05)

    def _cut_one(self) -> bool:
        live_after = time.time_ns() - int(self._options.policy.live_window_s * 1e9)
        batch = self._buffer.cut(self._options.batch_points, live_after)
        if batch is not None:
            self._offer(batch)
        return batch is not None

    def _offer(self, batch: StoredBatch) -> None:
        series, blocks = batch_parts(batch.columns, self._options.compress)
        self.session.offer(series, batch.lane, blocks, batch_no=batch.batch_no)

    def _drain_limit(self) -> float:
        """Points a second the backfill lane may carry now."""
        plant = self._sink.arrivals.per_second()
        return max(self._options.drain_multiple * plant, self._options.drain_min_points_per_s)

    def _acknowledged(self, batch: Batch, response: ingest_pb2.IngestResponse) -> None:
        self._buffer.acknowledge(batch.batch_no)
        self._sink.arrived.set()  # room in the window: cut the next batch
