"""One device's Ingest session: a long-lived stream that survives reconnects without losing data.

Batches wait in a :class:`Backlog` until the server acknowledges them; after a
broken stream every unacknowledged batch is sent again on the next one, in
order and with its original number and session id. A batch the server
committed just before the connection broke, whose ack was lost, is therefore
recognised and acknowledged as a duplicate, not stored twice: exactly once, as
long as the session id and numbers outlive the process when the batches do
(the edge agent keeps both in its SQLite buffer).

Deadlines: the stream is long-lived, so rather than leaving it open without a
deadline the session rotates it. After ``session_s`` the client half-closes,
the server acknowledges what it still holds and ends the call with OK, and a
fresh stream opens; every call carries the deadline ``session_s +
ack_timeout_s`` as a backstop, and the graceful rotation itself costs no
duplicates. Within a stream, a batch left unacknowledged for ``ack_timeout_s``
marks it dead (a stalled server, or a half-open connection that the channel's
keepalive has not noticed yet): the call is cancelled and its batches resent.

Retryable failures (UNAVAILABLE, a lost connection, a missed ack, anything not
listed in ``FATAL_CODES``) reconnect with capped exponential backoff, or after
the delay the server's ``google.rpc.RetryInfo`` asks for (over quota). The
backoff grows only over streams in a row that broke with nothing acknowledged:
one that broke after some acknowledgements starts it again, so a link cut now
and then costs ``backoff_initial_s`` per cut, not ``backoff_max_s``. A status
in ``FATAL_CODES`` means the device or its data is wrong, so it is logged with
the server's message and the device stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

import grpc

import tscodec
from sfclient.backlog import Backlog, Batch
from sfclient.pacing import Pacer
from sfclient.policy import FATAL_CODES, SessionPolicy, retry_delay_s
from sfcloud.v1 import ingest_pb2, ingest_pb2_grpc

log = logging.getLogger(__name__)


class AckTimeout(Exception):
    """An acknowledgement did not come in time: the stream is treated as broken."""


class DrainExpired(Exception):
    """The session was closed and the time allowed for the last acknowledgements is up."""


@dataclass
class DeviceStats:
    """What one device did; points_acked counts what the server reports as stored."""

    batches_sent: int = 0  # writes to a stream, resends included
    points_sent: int = 0
    bytes_sent: int = 0  # protobuf bytes of the batches written, resends included
    batches_resent: int = 0
    batches_acked: int = 0
    points_acked: int = 0
    batches_duplicate: int = 0  # acknowledged as already stored (a resend after a lost ack)
    points_acked_backfill: int = 0  # of points_acked, those sent on the backfill lane
    errors: int = 0  # streams that failed (retryable or not)
    reconnects: int = 0
    dropped_batches: int = 0  # pushed out of a full backlog, never acknowledged
    dropped_points: int = 0
    unacked_points: int = 0  # still in the backlog when the session ended
    fatal: str | None = None  # the status that stopped the device


AckHook = Callable[[Batch, ingest_pb2.IngestResponse], None]


def points_of(request: ingest_pb2.IngestRequest) -> int:
    """The points a batch carries, plain and in blocks (read from the block headers)."""
    plain = sum(len(s.timestamps_ns) for s in request.series)
    return plain + sum(tscodec.stats(b.payload).count for b in request.blocks)


class DeviceSession:
    """Carries one device's batches to IngestService over its own stream, reconnecting as needed."""

    def __init__(
        self,
        name: str,
        stub: ingest_pb2_grpc.IngestServiceStub,
        credential: str,
        backlog: Backlog,
        policy: SessionPolicy | None = None,
        jitter: random.Random | None = None,
        *,
        session_id: str | None = None,
        on_ack: AckHook | None = None,
        backfill_pacer: Pacer | None = None,
    ) -> None:
        """``session_id``: keep it (with the batches) to resend across restarts; by default a new one.

        ``backfill_pacer`` spaces the backfill lane's batches (resends included); live ones are not held
        back by it, though they keep their place in the order of batches.
        """
        self.name = name
        self.stats = DeviceStats()
        self._stub, self._backlog = stub, backlog
        self._policy = policy or SessionPolicy()
        self._jitter = jitter or random.Random()  # noqa: S311 - backoff jitter, not security
        self._metadata = (("authorization", f"Device {credential}"),)
        self._next_no, self._sent_upto = 1, 0
        self.session_id = session_id or str(uuid.uuid4())
        self._on_ack = on_ack
        self._pacer = backfill_pacer
        self._arrived, self._room, self._closed = asyncio.Event(), asyncio.Event(), asyncio.Event()
        self._drain_until = math.inf
        self._ended = False
        self._last_drop_log = -math.inf

    @property
    def ended(self) -> bool:
        return self._ended

    @property
    def next_batch_no(self) -> int:
        return self._next_no

    @property
    def unacknowledged(self) -> int:
        """Batches queued and not acknowledged yet."""
        return len(self._backlog)

    def offer(
        self,
        series: Sequence[ingest_pb2.SeriesPoints],
        lane: int = ingest_pb2.LANE_LIVE,
        blocks: Sequence[ingest_pb2.SeriesBlock] = (),
        batch_no: int | None = None,
    ) -> bool:
        """Queue a batch without waiting (live ticks); past the budget the oldest batches are dropped.

        ``batch_no`` (at least ``next_batch_no``) resends a batch numbered in an earlier run.
        """
        if self._ended or self._closed.is_set():
            return False
        if batch_no is not None and batch_no < self._next_no:
            raise ValueError(f"batch {batch_no} is not after {self._next_no - 1}")
        request = ingest_pb2.IngestRequest(
            batch_no=batch_no or self._next_no,
            series=series,
            blocks=blocks,
            session_id=self.session_id,
            lane=lane,
        )
        self._next_no = request.batch_no + 1
        self._record_drops(self._backlog.add(Batch(request.batch_no, request, points_of(request))))
        self._arrived.set()
        return True

    async def wait_for_room(self, points: int, share: float = 1.0) -> bool:
        """Wait until ``points`` more fit within ``share`` of the backlog; False when the session has ended."""
        while not self._ended and not self._backlog.has_room(points, share):
            self._room.clear()
            await self._room.wait()
        return not self._ended

    async def put(self, series: Sequence[ingest_pb2.SeriesPoints]) -> bool:
        """Queue a batch once it fits in half the backlog (backfill); False when the session has ended.

        The other half stays free for live ticks, so that they never push history out.
        """
        if not await self.wait_for_room(sum(len(s.timestamps_ns) for s in series), share=0.5):
            return False
        return self.offer(series, ingest_pb2.LANE_BACKFILL)

    async def drained(self) -> None:
        """Wait until every queued batch is acknowledged (or the session has ended)."""
        while self._backlog and not self._ended:
            self._room.clear()
            await self._room.wait()

    def close(self) -> None:
        """Take no more batches; ``run`` sends what is pending and waits up to ``drain_s`` for acks."""
        if not self._closed.is_set():
            self._drain_until = time.monotonic() + self._policy.drain_s
            self._closed.set()
            self._arrived.set()

    async def run(self) -> DeviceStats:
        """Stream until closed and drained, or until the server rejects the device for good."""
        failures = 0
        try:
            while not self._done():
                if failures:
                    self.stats.reconnects += 1
                asked_s, acked_before = None, self.stats.batches_acked
                try:
                    if await self._stream():
                        failures = 0
                    else:
                        failures += 1
                        self._note_failure("the server ended the stream without acknowledging anything")
                except grpc.aio.AioRpcError as exc:
                    if exc.code() in FATAL_CODES:
                        self._fail(exc)
                        break
                    failures = self._failures_after(failures, acked_before)
                    asked_s = retry_delay_s(exc)
                    self._note_failure(f"{exc.code().name}: {exc.details()}")
                except AckTimeout as exc:
                    failures = self._failures_after(failures, acked_before)
                    self._note_failure(str(exc))
                except DrainExpired:
                    break
                if failures and not self._done():
                    await self._pause(failures, asked_s)
        finally:
            self._finish()
        return self.stats

    def _failures_after(self, failures: int, acked_before: int) -> int:
        """The failure count the backoff grows with, after a stream broke.

        It counts streams in a row that broke without an acknowledgement. A stream that had some
        acknowledged before it broke starts the count again: the link works, it was cut (a lost ack,
        a restarted server or proxy), so the session retries after ``backoff_initial_s`` rather than,
        once a few such cuts have added up over a long session, after ``backoff_max_s`` every time.
        """
        return 1 if self.stats.batches_acked > acked_before else failures + 1

    def _done(self) -> bool:
        if self._ended:
            return True
        return self._closed.is_set() and (not self._backlog or time.monotonic() >= self._drain_until)

    async def _stream(self) -> bool:
        """One Ingest call; True when it made progress (or had nothing to do)."""
        inflight: dict[int, float] = {}
        acked_before = self.stats.batches_acked
        rotate_at = time.monotonic() + self._policy.session_s
        call = self._stub.Ingest(
            self._requests(inflight, rotate_at),
            metadata=self._metadata,
            timeout=self._policy.session_s + self._policy.ack_timeout_s,
        )
        try:
            await self._read_acks(call, inflight)
        finally:
            call.cancel()  # a no-op once the call has ended
        return self.stats.batches_acked > acked_before or not self._backlog

    async def _requests(
        self, inflight: dict[int, float], rotate_at: float
    ) -> AsyncIterator[ingest_pb2.IngestRequest]:
        """Everything unacknowledged, then each new batch as it comes, until rotation or close."""
        cursor = 0
        while True:
            fresh = self._backlog.from_number(cursor)
            for batch in fresh:
                batch = self._lane_now(batch)
                if not await self._paced(batch, rotate_at):
                    return
                cursor = batch.batch_no + 1
                inflight[batch.batch_no] = time.monotonic()
                self._count_sent(batch)
                yield batch.request
            if fresh:
                continue
            if self._closed.is_set() or time.monotonic() >= rotate_at:
                return
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), rotate_at - time.monotonic())

    async def _paced(self, batch: Batch, rotate_at: float) -> bool:
        """Wait for the batch's turn on its lane; False when the stream rotates first."""
        paced = self._pacer is not None and batch.request.lane == ingest_pb2.LANE_BACKFILL
        delay = self._pacer.delay_s() if paced else 0.0
        if time.monotonic() + delay >= rotate_at:
            return False
        if delay:
            await asyncio.sleep(delay)
        if paced:
            self._pacer.charge(batch.points)
        return True

    def _lane_now(self, batch: Batch) -> Batch:
        """The batch as it goes out now: a live one that waited past ``live_window_s`` (an outage held it
        back) has become backlog, and goes on the backfill lane from then on."""
        stale = time.monotonic() - batch.queued_at > self._policy.live_window_s
        if batch.request.lane != ingest_pb2.LANE_LIVE or not stale:
            return batch
        request = ingest_pb2.IngestRequest()
        request.CopyFrom(batch.request)
        request.lane = ingest_pb2.LANE_BACKFILL
        return self._backlog.replace(dataclasses.replace(batch, request=request))

    async def _read_acks(self, call: grpc.aio.StreamStreamCall, inflight: dict[int, float]) -> None:
        """Apply acknowledgements until the server ends the stream; raise when one is overdue."""
        responses = aiter(call)
        next_ack = asyncio.ensure_future(anext(responses))
        poll_s = min(0.25, self._policy.ack_timeout_s / 4)
        try:
            while True:
                done, _ = await asyncio.wait({next_ack}, timeout=poll_s)
                if not done:
                    self._check_overdue(inflight)
                    continue
                try:
                    response = next_ack.result()
                except StopAsyncIteration:
                    return
                self._acknowledge(response, inflight)
                next_ack = asyncio.ensure_future(anext(responses))
        finally:
            next_ack.cancel()

    def _check_overdue(self, inflight: dict[int, float]) -> None:
        now = time.monotonic()
        if self._closed.is_set() and now >= self._drain_until:
            raise DrainExpired
        if inflight:
            batch_no, sent_at = next(iter(inflight.items()))
            if now - sent_at > self._policy.ack_timeout_s:
                raise AckTimeout(
                    f"no acknowledgement of batch {batch_no} within {self._policy.ack_timeout_s}s"
                )

    def _acknowledge(self, response: ingest_pb2.IngestResponse, inflight: dict[int, float]) -> None:
        inflight.pop(response.batch_no, None)
        batch = self._backlog.ack(response.batch_no)
        if batch is None:
            log.debug("device %s: ack of batch %d, which is no longer pending", self.name, response.batch_no)
            return
        self.stats.batches_acked += 1
        self.stats.points_acked += response.points_stored
        self.stats.batches_duplicate += response.duplicate
        if batch.request.lane == ingest_pb2.LANE_BACKFILL:
            self.stats.points_acked_backfill += response.points_stored
        if self._on_ack is not None:
            self._on_ack(batch, response)
        if not response.duplicate and response.points_stored + response.conflicts != batch.points:
            log.warning(
                "device %s: batch %d had %d points but the server stored %d (%d conflicts)",
                self.name, batch.batch_no, batch.points, response.points_stored, response.conflicts,
            )  # fmt: skip
        self._room.set()

    def _count_sent(self, batch: Batch) -> None:
        self.stats.batches_sent += 1
        self.stats.points_sent += batch.points
        self.stats.bytes_sent += batch.request.ByteSize()
        if batch.batch_no <= self._sent_upto:
            self.stats.batches_resent += 1
        self._sent_upto = max(self._sent_upto, batch.batch_no)

    def _record_drops(self, dropped: list[Batch]) -> None:
        """Count what a full backlog pushed out, and say so (at most every drop_log_interval_s)."""
        if not dropped:
            return
        self.stats.dropped_batches += len(dropped)
        self.stats.dropped_points += sum(b.points for b in dropped)
        now = time.monotonic()
        if now - self._last_drop_log >= self._policy.drop_log_interval_s:
            self._last_drop_log = now
            log.warning(
                "device %s: backlog full (%d points), dropping the oldest data; %d batches (%d points) lost so far",
                self.name, self._backlog.max_points, self.stats.dropped_batches, self.stats.dropped_points,
            )  # fmt: skip

    def _note_failure(self, reason: str) -> None:
        self.stats.errors += 1
        log.warning(
            "device %s: stream failed (%s); %d batches unacknowledged, reconnecting",
            self.name, reason, len(self._backlog),
        )  # fmt: skip

    async def _pause(self, failures: int, asked_s: float | None = None) -> None:
        """Back off (or wait as long as the server asked); close() cuts it short, the drain deadline bounds it."""
        delay = asked_s if asked_s is not None else self._policy.backoff(failures, self._jitter.random())
        if self._closed.is_set():
            await asyncio.sleep(max(min(delay, self._drain_until - time.monotonic()), 0.0))
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closed.wait(), delay)

    def _fail(self, exc: grpc.aio.AioRpcError) -> None:
        self.stats.errors += 1
        self.stats.fatal = f"{exc.code().name}: {exc.details()}"
        log.error("device %s stopped: the server rejected it with %s", self.name, self.stats.fatal)

    def _finish(self) -> None:
        self._ended = True
        self._room.set()
        self.stats.unacked_points = self._backlog.points
        if self.stats.dropped_points:
            log.warning(
                "device %s: %d batches (%d points) were dropped from a full backlog",
                self.name, self.stats.dropped_batches, self.stats.dropped_points,
            )  # fmt: skip
        if self._backlog:
            log.warning(
                "device %s: ended with %d batches (%d points) unacknowledged",
                self.name, len(self._backlog), self._backlog.points,
            )  # fmt: skip
