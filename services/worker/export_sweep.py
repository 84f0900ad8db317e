"""Putting back in the export stream the exports PostgreSQL says are still to do (RELIABILITY D6).

The stream `export:jobs` lives in Redis alone, which may lose it: a failover to a replica that lagged, a
keyspace flushed or restored from a snapshot (production's Valkey keeps no append-only file). The row in
`telemetry.exports` is the truth, so every interval one worker (services/worker/schedule.py) reads, on each
cell, the exports still to do that no run holds (queued, or running under an expired lease: migration 0022)
and adds an entry for each one the stream lacks. The rows are read before the stream: an export whose entry
is gone by then was lost or is finished, and a new entry for a finished one, or for one a run holds, is
dropped by the worker that takes it (services/worker/exporter.py), so nothing runs twice at once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from services.runtime.errors import ServiceError
from services.worker import export_storage as storage
from services.worker.exporter import ExportJob

log = logging.getLogger(__name__)


class SweepCells(Protocol):
    def scoped(self, cell: str, settings: Mapping[str, str]) -> AbstractAsyncContextManager[Any]: ...

    @property
    def names(self) -> tuple[str, ...]: ...


class Stream(Protocol):
    async def members(self) -> set[str]: ...

    async def put(self, job: ExportJob) -> None: ...


class ExportSweep:
    def __init__(self, cells: SweepCells, stream: Stream, limit: int = 1000) -> None:
        self._cells = cells
        self._stream = stream
        self._limit = limit  # exports read per cell and pass: the oldest first

    async def run_pass(self, now_ns: int | None = None) -> int:
        """How many entries were put back (PostgreSQL's clock, not ``now_ns``, says which leases expired)."""
        to_do = [job for cell in self._cells.names for job in await self._unheld(cell)]
        if not to_do:
            return 0
        present = await self._stream.members()
        missing = [job for job in to_do if job.member not in present]
        for job in missing:
            await self._stream.put(job)
        if missing:
            log.warning("export entries put back", extra={"count": len(missing)})
        return len(missing)

    async def _unheld(self, cell: str) -> list[ExportJob]:
        """The cell's exports no run holds; none while the cell is down (the other cells still get their pass)."""
        try:
            async with self._cells.scoped(cell, storage.SWEEP) as conn:
                rows = await storage.unheld(conn, self._limit)
        except ServiceError as exc:
            log.warning(
                "export sweep of a cell failed; the next pass retries it",
                extra={"cell": cell, "error": exc.message},
            )
            return []
        return [ExportJob(cell, row.tenant_id, row.id, row.grantee_supplier_id) for row in rows]
