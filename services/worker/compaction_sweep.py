"""Scheduling again, from PostgreSQL, the hours whose compaction Redis forgot (RELIABILITY D6).

Ingest's notices (`compact:due`) and the job stream live in Redis alone (services/runtime/compaction.py),
which may lose them: a failover to a replica that lagged, a keyspace flushed or restored from a snapshot.
The blocks are the truth, so every interval one worker (services/worker/schedule.py) asks each tenant, in
the tenant's transaction on its cell, for the hours that ended between ``lookback_h`` hours and
``after_s`` seconds ago and still hold more blocks than their points need (the rule compaction applies,
``needs_compaction``), and adds them to `compact:due`, due at once. ``after_s`` leaves the queue its time:
while Redis keeps its keys the sweep finds nothing, and an hour it adds anyway (a queue hours behind) is
merely looked at twice.

The query starts from `telemetry.series_latest` (series with a point inside the window) and reads each
one's blocks of the window by the primary key (tenant, series, start_ns): its cost is the window's blocks,
a few per compacted hour, and a pass adds at most ``limit`` hours (the next pass finds the rest).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Protocol

from services.runtime.compaction import DUE_KEY, HOUR_NS, Job
from services.runtime.errors import ServiceError
from services.runtime.transactions import CellTransactions
from services.worker import storage
from services.worker.directory import TenantRetention

log = logging.getLogger(__name__)


class Tenants(Protocol):
    async def tenants(self) -> list[TenantRetention]: ...


@dataclass(frozen=True)
class Window:
    lookback_h: int = 48  # covers a keyspace restored from a daily snapshot
    after_s: int = 7200  # the grace (600 s) and a queue well behind

    def hours(self, now_ns: int) -> tuple[int, int]:
        """[start, end) in ns of the hours that ended inside the window."""
        end = (now_ns - self.after_s * 10**9) // HOUR_NS * HOUR_NS
        return end - self.lookback_h * HOUR_NS, end


class CompactionSweep:
    def __init__(
        self,
        redis: Any,
        cells: CellTransactions,
        tenants: Tenants,
        target_points: int,
        window: Window,
        limit: int = 10_000,
    ) -> None:
        self._redis = redis
        self._cells = cells
        self._tenants = tenants
        self._target = target_points
        self._window = window
        self._limit = limit

    async def run_pass(self, now_ns: int | None = None) -> int:
        """How many hours were scheduled."""
        now_ns = now_ns or time.time_ns()
        start, end = self._window.hours(now_ns)
        jobs: list[Job] = []
        for tenant in await self._tenants.tenants():
            if len(jobs) >= self._limit:
                break
            try:
                async with self._cells.tenant(tenant.tenant_id, tenant.cell) as conn:
                    found = await storage.overdue_hours(
                        conn, tenant.tenant_id, start, end, self._target, self._limit - len(jobs)
                    )
            except ServiceError as exc:
                # its cell is down or not configured here: the others still get their pass
                log.warning(
                    "compaction sweep of a tenant failed; the next pass retries it",
                    extra={"tenant_id": str(tenant.tenant_id), "error": exc.message},
                )
                continue
            jobs += [Job(tenant.cell, tenant.tenant_id, series_id, hour) for series_id, hour in found]
        if jobs:
            await self._redis.zadd(DUE_KEY, {job.member: now_ns / 10**9 for job in jobs}, nx=True)
            log.warning("uncompacted hours scheduled again", extra={"count": len(jobs)})
        return len(jobs)
