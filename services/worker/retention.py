"""Retention: each tenant's blocks older than its plan allows are deleted, and a week ahead it is noted
what will go, so the tenant can be warned.

- Cutoff: ``now - retention_days`` of the tenant's plan. Only **whole blocks** that end before the cutoff
  are deleted. A block lies within one UTC hour (services/runtime/blocks.py), so at most one hour of data
  older than the cutoff is kept until the next pass; nothing newer than the cutoff is ever deleted, so
  every (tenant, series, day) count and sum of the kept data stays as it was.
- Chunks: per weekly partition, at most ``chunk_blocks`` blocks per transaction, each transaction scoped
  to the tenant (role sf_worker, row-level security forced): it cannot see, let alone delete, another
  tenant's rows. A pass killed at any moment has deleted only blocks that were due anyway; the next pass
  finishes the job.
- A tenant whose plan is unknown here is skipped (nothing deleted), with a log line; so is one whose cell
  is down or not configured here, until a later pass.
- Notice: after trimming, if the tenant has blocks ending before ``cutoff + 7 days`` (what the passes of
  the coming week will delete), `telemetry.retention_notices` holds that bound and the oldest such block's
  end; otherwise its notice is removed. Emailing the tenant's owners is not built.
- Whole partitions are not dropped here (the worker owns nothing): `sf storage maintain` does that.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from services.runtime.errors import ServiceError
from services.runtime.transactions import CellTransactions
from services.worker import retention_storage as storage
from services.worker.directory import TenantRetention

log = logging.getLogger(__name__)

DAY_NS = 86400 * 10**9
NOTICE_DAYS = 7


class Directory(Protocol):
    async def tenants(self) -> Sequence[TenantRetention]: ...


@dataclass(frozen=True)
class Trimmed:
    tenant: TenantRetention
    deleted: int = 0
    warned_before_ns: int | None = None  # the notice's bound, when one is recorded


def cutoff_ns(now_ns: int, retention_days: int) -> int:
    """Blocks ending before this are past retention."""
    return now_ns - retention_days * DAY_NS


class RetentionService:
    def __init__(self, cells: CellTransactions, directory: Directory, chunk_blocks: int = 5000) -> None:
        self._cells = cells
        self._directory = directory
        self._chunk = chunk_blocks

    async def run_pass(self, now_ns: int | None = None) -> list[Trimmed]:
        """One pass over every tenant the directory lists, at one ``now`` for all."""
        now_ns = time.time_ns() if now_ns is None else now_ns
        done = []
        for tenant in await self._directory.tenants():
            if tenant.retention_days is None:
                log.warning("retention skipped: unknown plan", extra={"plan": tenant.plan_code})
                continue
            try:
                done.append(await self.trim(tenant, now_ns))
            except (
                ServiceError
            ) as exc:  # its cell is down or not configured here: the others still get their pass
                log.warning(
                    "retention of a tenant failed; the next pass retries it",
                    extra={"tenant_id": str(tenant.tenant_id), "error": exc.message},
                )
        return done

    async def trim(self, tenant: TenantRetention, now_ns: int) -> Trimmed:
        cutoff = cutoff_ns(now_ns, tenant.retention_days)
        deleted = 0
        async with self._cells.tenant(tenant.tenant_id, tenant.cell) as conn:
            partitions = await storage.partitions_before(conn, cutoff)
        for partition in partitions:
            deleted += await self._trim_partition(tenant, partition.name, cutoff)
        warned = await self._note(tenant, cutoff + NOTICE_DAYS * DAY_NS)
        if deleted:
            log.info("retention", extra={"tenant_id": str(tenant.tenant_id), "deleted": deleted})
        return Trimmed(tenant, deleted, warned)

    async def _trim_partition(self, tenant: TenantRetention, partition: str, cutoff: int) -> int:
        deleted = 0
        while True:
            async with self._cells.tenant(tenant.tenant_id, tenant.cell) as conn:
                n = await storage.delete_chunk(conn, partition, tenant.tenant_id, cutoff, self._chunk)
            deleted += n
            if n < self._chunk:
                return deleted

    async def _note(self, tenant: TenantRetention, before_ns: int) -> int | None:
        """Record (or clear) what the coming week's passes will delete; the bound when there is some."""
        async with self._cells.tenant(tenant.tenant_id, tenant.cell) as conn:
            oldest = await storage.oldest_end_before(conn, tenant.tenant_id, before_ns)
            if oldest is None:
                await storage.clear_notice(conn, tenant.tenant_id)
                return None
            await storage.save_notice(conn, tenant.tenant_id, before_ns, oldest, tenant.retention_days)
        return before_ns
