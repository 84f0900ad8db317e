"""Reporting each tenant's metered usage to the tenancy service.

Ingest counts usage exactly, in the same statement as the data (`telemetry.usage_daily`). Every few
seconds it sends the day's absolute totals of the tenants it stored data for; absolute totals make a
repeated or lost report harmless (the next one corrects it), and any number of ingest replicas agree.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime

import grpc

from services.ingest import storage
from services.runtime.channels import DEFAULT_DEADLINE_S, CallerIdentity
from services.runtime.tokens import service_principal
from services.runtime.transactions import CellTransactions
from sfcloud.v1 import tenancy_pb2, tenancy_pb2_grpc

log = logging.getLogger(__name__)


class UsageReporter:
    def __init__(
        self,
        cells: CellTransactions,
        stub: tenancy_pb2_grpc.TenancyServiceStub,
        identity: CallerIdentity,
        interval_s: float = 10.0,
    ) -> None:
        self._cells = cells
        self._stub = stub
        self._identity = identity
        self._interval = interval_s
        self._pending: set[tuple[uuid.UUID, str]] = set()

    def touched(self, tenant_id: uuid.UUID, cell: str) -> None:
        self._pending.add((tenant_id, cell))

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.flush()

    async def flush(self) -> None:
        tenants, self._pending = self._pending, set()
        day = datetime.now(UTC).date()
        for tenant_id, cell in tenants:
            try:
                await self._report(tenant_id, cell, day)
            except grpc.aio.AioRpcError as exc:
                if (
                    exc.code() != grpc.StatusCode.NOT_FOUND
                ):  # a purged tenant's usage is dropped; the rest retried
                    self._pending.add((tenant_id, cell))
                log.warning("usage report failed", extra={"tenant": str(tenant_id), "error": exc.details()})
            except Exception as exc:  # any other failure: retried with the next flush, never lost
                self._pending.add((tenant_id, cell))
                log.warning("usage report failed", extra={"tenant": str(tenant_id), "error": repr(exc)})

    async def _report(self, tenant_id: uuid.UUID, cell: str, day) -> None:
        async with self._cells.tenant(tenant_id, cell) as conn:
            points, stored, devices = await storage.daily_totals(conn, day)
        request = tenancy_pb2.RecordUsageRequest(
            day=day.isoformat(), points=points, bytes_stored=stored, active_devices=devices
        )
        metadata = self._identity.metadata(service_principal("ingest", tenant_id))
        await self._stub.RecordUsage(request, metadata=metadata, timeout=DEFAULT_DEADLINE_S)
