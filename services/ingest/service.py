"""The ingest rules: validate, check ownership, encode, commit, then acknowledge and publish."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from typing import Protocol

import numpy as np

import tscodec
from services.ingest import storage
from services.ingest.admission import Admission, footprint
from services.ingest.batches import (
    IncomingBlock,
    IncomingSeries,
    SeriesColumns,
    repeated_series,
    validate,
    without_known,
)
from services.ingest.errors import ServerBusy, UnknownSeries
from services.ingest.limits import PointRate
from services.ingest.live import LivePublisher
from services.ingest.usage import UsageReporter
from services.runtime.blocks import Block, hour_runs
from services.runtime.blocks import encode_block as encode_columns
from services.runtime.compaction import CompactionNotices
from services.runtime.errors import (
    DatabaseFull,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    ServiceError,
)
from services.runtime.principal import Kind, Principal
from services.runtime.transactions import CellTransactions

log = logging.getLogger(__name__)
LIVE, BACKFILL = "live", "backfill"
BACKFILL_SLOTS = 2  # backfill batches written at once per process; live batches never wait for them


@dataclass(frozen=True)
class IngestOutcome:
    stored: int = 0
    conflicts: int = 0
    duplicate: bool = False


class SeriesCatalog(Protocol):
    async def unknown_series(self, tenant_id: uuid.UUID, series_ids: list[uuid.UUID]) -> list[uuid.UUID]: ...
    def points_per_second(self, tenant_id: uuid.UUID) -> int: ...


def encode_blocks(series: SeriesColumns) -> list[Block]:
    """One block per UTC hour the points span (services/runtime/blocks.py); a device's own block is
    stored as it came when all of it lies in one hour."""
    runs = hour_runs(series.timestamps)
    if len(runs) == 1:
        return [encode_columns(series.series_id, series.timestamps, series.values, series.payload)]
    return [encode_columns(series.series_id, series.timestamps[run], series.values[run]) for run in runs]


class IngestService:
    def __init__(
        self,
        cells: CellTransactions,
        catalog: SeriesCatalog,
        live: LivePublisher,
        usage: UsageReporter,
        rate: PointRate,
        admission: Admission,
        compaction: CompactionNotices,
    ) -> None:
        self._cells = cells
        self._catalog = catalog
        self._live = live
        self._usage = usage
        self._rate = rate
        self._admission = admission
        self._compaction = compaction
        self._backfill_slots = asyncio.Semaphore(BACKFILL_SLOTS)

    async def ingest(
        self,
        caller: Principal,
        batch: storage.BatchKey,
        entries: list[IncomingSeries],
        blocks: list[IncomingBlock] = (),
        lane: str = LIVE,
    ) -> IngestOutcome:
        """Store one batch (see ``_store``); a refused batch is recorded for the tenant to see, then raised.
        Backfill batches have their own quota and take turns (a few at a time per process), so a backlog
        drained after an outage never crowds out live data. A batch holds its share of the process's
        in-flight budget (``admission``) only while it is worked on, so backfill batches waiting for their
        turn take none of it from live ones."""
        cost = footprint(entries, blocks)
        try:
            if lane == LIVE:
                async with self._admission.admit(cost):
                    return await self._store(caller, batch, entries, blocks, lane)
            async with self._backfill_slots, self._admission.admit(cost):
                return await self._store(caller, batch, entries, blocks, lane)
        except (ServerBusy, DatabaseFull):
            raise  # the server's state, not the tenant's; a write per refusal would feed the overload or meet the full disk
        except (InvalidArgument, NotFound, ResourceExhausted) as refusal:
            await self._record_refusal(caller, refusal)
            raise

    async def _record_refusal(self, caller: Principal, refusal: ServiceError) -> None:
        try:
            async with self._cells.tenant(caller.require_tenant(), caller.cell) as conn:
                await storage.record_refusal(
                    conn, caller.require_tenant(), uuid.UUID(caller.subject), refusal.reason, refusal.message
                )
        except ServiceError as exc:  # the refusal itself still reaches the device
            log.warning("could not record a refusal", extra={"error": exc.message})

    async def _store(
        self,
        caller: Principal,
        batch: storage.BatchKey,
        entries: list[IncomingSeries],
        blocks: list[IncomingBlock],
        lane: str,
    ) -> IngestOutcome:
        """Store one batch in one transaction. Raises before storing anything when the batch is refused.
        A batch already stored (a retry after a lost acknowledgement) is a duplicate: nothing is stored again.
        A point whose series already has a value at its timestamp is dropped and counted (first write wins)."""
        if caller.kind is not Kind.DEVICE:
            raise PermissionDenied("only devices may send telemetry", reason="NOT_A_DEVICE")
        tenant_id = caller.require_tenant()
        series = validate(entries, blocks)
        if not series:
            return IngestOutcome()
        unknown = await self._catalog.unknown_series(tenant_id, [s.series_id for s in series])
        if unknown:
            violations = tuple(
                FieldViolation("series_id", f"{u} is not a series of this tenant") for u in unknown
            )
            raise UnknownSeries(f"series {unknown[0]} not found", violations=violations)
        points = sum(s.timestamps.size for s in series)
        await self._rate.take(tenant_id, self._catalog.points_per_second(tenant_id), points, lane)
        async with self._cells.tenant(tenant_id, caller.cell) as conn:
            await storage.lock_series(conn, [s.series_id for s in series])
            kept, conflicts = await _first_writes_only(conn, series)
            encoded = [block for s in kept for block in encode_blocks(s)]
            stored = await storage.write_blocks(
                conn, tenant_id, uuid.UUID(caller.subject), batch, encoded, conflicts
            )
        if not stored:
            return IngestOutcome(duplicate=True)
        self._usage.touched(tenant_id, caller.cell)
        if kept:  # both best effort, so at once: with Redis dark each waits out its timeout (RELIABILITY D7)
            await asyncio.gather(
                self._live.publish(tenant_id, kept),
                self._compaction.touched(
                    caller.cell, tenant_id, [(b.series_id, b.start_ns) for b in encoded]
                ),
            )
        return IngestOutcome(stored=sum(b.count for b in encoded), conflicts=conflicts)


async def _first_writes_only(conn, series: list[SeriesColumns]) -> tuple[list[SeriesColumns], int]:
    """The batch without points whose (series, timestamp) already has a value, and how many were dropped.

    Only the series with a stored block in their range or a timestamp twice in the batch can lose points;
    both are found for the whole batch at once, and every other series passes as it is."""
    ranges = [(s.series_id, int(s.timestamps[0]), int(s.timestamps[-1])) for s in series]
    stored = await storage.stored_timestamps(conn, ranges)
    repeats = repeated_series(series)
    kept, conflicts = [], 0
    for index, s in enumerate(series):
        payloads = stored.get(s.series_id)
        if payloads is None and index not in repeats:
            kept.append(s)
            continue
        known = [tscodec.decode(p)[0] for p in payloads or ()]
        remaining, dropped = without_known(s, np.concatenate(known) if known else np.empty(0, np.int64))
        conflicts += dropped
        if remaining.timestamps.size:
            kept.append(remaining)
    return kept, conflicts
