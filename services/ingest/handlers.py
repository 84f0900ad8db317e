"""gRPC ⇄ domain translation for IngestService: one acknowledgement per committed batch, on streams
capped per tenant (`tenant_streams.py`) and closed when idle (`services/runtime/streams.py`)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass

import numpy as np
from google.protobuf.message import DecodeError

from services.ingest.batches import IncomingBlock, IncomingSeries
from services.ingest.errors import MalformedBatch, ShuttingDown
from services.ingest.service import BACKFILL, LIVE, IngestService
from services.ingest.storage import BatchKey
from services.ingest.tenant_streams import TenantStreams
from services.runtime.metrics import record_batch
from services.runtime.principal import current_principal
from services.runtime.streams import until_draining
from sfcloud.v1 import ingest_pb2, ingest_pb2_grpc


class IngestHandlers(ingest_pb2_grpc.IngestServiceServicer):
    def __init__(
        self, service: IngestService, draining: asyncio.Event, streams: TenantStreams, idle_s: float
    ) -> None:
        self._service = service
        self._draining = draining
        self._streams = streams
        self._idle_s = idle_s

    async def Ingest(self, request_iterator, context) -> AsyncIterator[ingest_pb2.IngestResponse]:
        principal = current_principal()
        with self._streams.hold(principal.tenant_id):
            async for response in self._acknowledge(principal, request_iterator):
                yield response
        if self._draining.is_set():
            raise ShuttingDown("server shutting down; reconnect and resend unacknowledged batches")

    async def _acknowledge(self, principal, request_iterator) -> AsyncIterator[ingest_pb2.IngestResponse]:
        """Each batch arrives as wire bytes (``services/runtime/registration.py``), taken from their holder
        and parsed by ``received``: only its arrays wait for admission, and the stream keeps nothing of it
        between batches or after it ends (RELIABILITY D5)."""
        session: uuid.UUID | None = None
        last = -1
        raws = until_draining(request_iterator, self._draining, self._idle_s)
        async with aclosing(
            raws
        ):  # a refused batch ends the stream: its reading ends now, not when collected
            async for wire in raws:
                arrived = time.perf_counter()
                batch = received(wire.take())
                session = session or batch.session
                if batch.batch_no <= last:
                    raise MalformedBatch.of(
                        "batch_no",
                        f"{batch.batch_no} is not after {last}: batch numbers increase within a session",
                    )
                last = batch.batch_no
                key = BatchKey(session, batch.batch_no)
                outcome = await self._service.ingest(principal, key, batch.entries, batch.blocks, batch.lane)
                record_batch(batch.lane, time.perf_counter() - arrived, outcome.stored)
                yield ingest_pb2.IngestResponse(
                    batch_no=batch.batch_no,
                    points_stored=outcome.stored,
                    duplicate=outcome.duplicate,
                    conflicts=outcome.conflicts,
                )


@dataclass(frozen=True)
class Received:
    """One batch as the service takes it: its numbers as arrays, its message gone."""

    session: uuid.UUID
    batch_no: int
    lane: str
    entries: list[IncomingSeries]
    blocks: list[IncomingBlock]


def received(raw: bytes) -> Received:
    """The batch in an ``IngestRequest``'s wire bytes, or MalformedBatch when they do not parse."""
    try:
        request = ingest_pb2.IngestRequest.FromString(raw)
    except DecodeError:
        raise MalformedBatch("the message is not an IngestRequest: its bytes do not parse") from None
    entries, blocks = incoming(request)
    lane = BACKFILL if request.lane == ingest_pb2.LANE_BACKFILL else LIVE
    return Received(session_of(request), request.batch_no, lane, entries, blocks)


def incoming(request: ingest_pb2.IngestRequest) -> tuple[list[IncomingSeries], list[IncomingBlock]]:
    """The request's plain series and blocks as the rules in ``batches.py`` take them (still unvalidated).
    Timestamps and values become arrays here, once (~3 µs an entry): admission counts the hours the
    timestamps lie in, validation reads the same arrays, and nothing keeps the message's arena alive."""
    entries = [
        IncomingSeries(
            s.series_id, np.asarray(s.timestamps_ns, dtype=np.int64), np.asarray(s.values, dtype=np.float64)
        )
        for s in request.series
    ]
    return entries, [IncomingBlock(b.series_id, b.payload) for b in request.blocks]


def session_of(request: ingest_pb2.IngestRequest) -> uuid.UUID:
    """The client's session id, or a fresh one for a stream that sends none."""
    if not request.session_id:
        return uuid.uuid4()
    try:
        return uuid.UUID(request.session_id)
    except ValueError:
        raise MalformedBatch.of("session_id", f"{request.session_id[:40]!r} is not a UUID") from None
