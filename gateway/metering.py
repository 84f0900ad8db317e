"""Counting API calls per tenant and handing the counts to the tenancy service every few seconds.

Counts live in memory between flushes: a crash loses at most one interval's count, never a request.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from datetime import UTC, datetime

from gateway.backends import Backends
from services.runtime.errors import NotFound, ServiceError
from services.runtime.tokens import service_principal
from sfcloud.v1 import tenancy_pb2

log = logging.getLogger(__name__)


class ApiCallMeter:
    def __init__(self, backends: Backends, interval_s: float = 10.0) -> None:
        self._backends = backends
        self._interval = interval_s
        self._counts: Counter[uuid.UUID] = Counter()

    def count(self, tenant_id: uuid.UUID | None) -> None:
        if tenant_id is not None:
            self._counts[tenant_id] += 1

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.flush()

    async def flush(self) -> None:
        counts, self._counts = self._counts, Counter()
        day = datetime.now(UTC).date().isoformat()
        for tenant_id, calls in counts.items():
            request = tenancy_pb2.RecordApiCallsRequest(day=day, calls=calls)
            try:
                await self._backends.call(
                    self._backends.tenancy.RecordApiCalls, request, service_principal("gateway", tenant_id)
                )
            except ServiceError as exc:  # kept for the next flush, unless the tenant is gone
                if not isinstance(exc, NotFound):
                    self._counts[tenant_id] += calls
                log.warning("API call report failed", extra={"tenant": str(tenant_id), "error": exc.message})
