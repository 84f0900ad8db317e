"""gRPC ⇄ domain translation for IngestService: one acknowledgement per committed batch."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from services.ingest.batches import IncomingBlock, IncomingSeries
from services.ingest.errors import ShuttingDown
from services.ingest.service import IngestService
from services.runtime.principal import current_principal
from services.runtime.streams import until_draining
from sfcloud.v1 import ingest_pb2, ingest_pb2_grpc


class IngestHandlers(ingest_pb2_grpc.IngestServiceServicer):
    def __init__(self, service: IngestService, draining: asyncio.Event) -> None:
        self._service = service
        self._draining = draining

    async def Ingest(self, request_iterator, context) -> AsyncIterator[ingest_pb2.IngestResponse]:
        principal = current_principal()
        async for request in until_draining(request_iterator, self._draining):
            entries = [IncomingSeries(s.series_id, s.timestamps_ns, s.values) for s in request.series]
            blocks = [IncomingBlock(b.series_id, b.payload) for b in request.blocks]
            stored = await self._service.ingest(principal, entries, blocks)
            yield ingest_pb2.IngestResponse(batch_no=request.batch_no, points_stored=stored)
        if self._draining.is_set():
            raise ShuttingDown("server shutting down; reconnect and resend unacknowledged batches")
