"""Retention: each tenant's blocks older than its plan allows are deleted, but never without a week's
notice; the notice is recorded for the web app and mailed to the tenant's owners and admins.

- **No deletion without a week's notice.** A pass deletes the tenant's whole blocks ending before

      cutoff = min(now - retention_days,  the bound of the newest announcement made at or before now - 7 days)

  and nothing at all when no announcement is that old. An announcement is recorded by every pass that
  finds blocks due within the week: "blocks ending before ``now - retention_days + 7 days`` may be
  deleted from ``now + 7 days`` on" (`telemetry.retention_announcements`). So in the steady state
  data goes on time (each announcement matures exactly when its bound becomes the plan's cutoff); a
  downgrade (365 to 30 days) deletes nothing more for 7 days after the first pass that announced it, while
  the tenant is warned and may upgrade back; an upgrade deletes less at once (the plan's cutoff is the
  smaller term). Announcements older than the newest matured one are pruned; when nothing is due within a
  week the notice and all announcements go, so data that appears later (a backfill) gets a week of its own.
- Whole blocks only, so at most one hour of data older than the cutoff is kept until the next pass;
  nothing newer than the cutoff is ever deleted, so every (tenant, series, day) count and sum of the kept
  data stays as it was.
- Chunks: per weekly partition, at most ``chunk_blocks`` blocks per transaction, each transaction scoped
  to the tenant (role sf_worker, row-level security forced): it cannot see, let alone delete, another
  tenant's rows. A pass killed at any moment has deleted only blocks that were due anyway; the next pass
  finishes the job.
- A tenant whose plan is unknown here is skipped (nothing deleted), with a log line; so is one whose cell
  is down or not configured here, until a later pass.
- **Notice**: `telemetry.retention_notices` holds, while some blocks are due within the week, that bound,
  the oldest such block's end, the retention and plan, and ``notice_ns``: when the notice began (the first
  pass that announced it, or the pass at which the retention got shorter) and ``effective_ns``
  (``notice_ns + 7 days``): deletions under it start no earlier.
- **Mail**: a notice not yet mailed is sent to tenancy's ``NotifyRetention`` (as the service ``worker``,
  with a token scoped to the tenant), which mails the owners and admins; ``notified_at`` is set only after
  tenancy answered, so a failure (tenancy or SMTP down) is retried by the next pass and the notice is
  never lost. A crash between tenancy's answer and the mark would send it again, so the call carries the
  notice's id (``notice_ns``) and tenancy mails each id once (its audit log records the sending): a
  double mail needs tenancy itself to stop between the SMTP server's acceptance and that record.
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


class Notifier(Protocol):
    async def notify(self, tenant: TenantRetention, notice: storage.Notice) -> None:
        """Have the tenant's owners and admins mailed; raises ServiceError when that failed."""


@dataclass(frozen=True)
class Trimmed:
    tenant: TenantRetention
    deleted: int = 0
    cutoff_ns: int | None = None  # what this pass deleted up to; None: nothing announced a week ago
    warned_before_ns: int | None = None  # the notice's bound, when one is recorded
    mailed: bool = False  # the notice was mailed by this pass


def cutoff_ns(now_ns: int, retention_days: int) -> int:
    """Blocks ending before this are past the plan's retention."""
    return now_ns - retention_days * DAY_NS


def deletion_cutoff(plan_cutoff_ns: int, announced_ns: int | None) -> int | None:
    """Deleted may be only what is past the plan now and was announced a week ago."""
    return None if announced_ns is None else min(plan_cutoff_ns, announced_ns)


class RetentionService:
    def __init__(
        self, cells: CellTransactions, directory: Directory, notifier: Notifier, chunk_blocks: int = 5000
    ) -> None:
        self._cells = cells
        self._directory = directory
        self._notifier = notifier
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
        async with self._cells.tenant(tenant.tenant_id, tenant.cell) as conn:
            announced = await storage.announced_bound(conn, tenant.tenant_id, now_ns - NOTICE_DAYS * DAY_NS)
            cutoff = deletion_cutoff(cutoff_ns(now_ns, tenant.retention_days), announced)
            partitions = await storage.partitions_before(conn, cutoff) if cutoff is not None else []
        deleted = 0
        for partition in partitions:
            deleted += await self._trim_partition(tenant, partition.name, cutoff)
        notice = await self._note(tenant, now_ns)
        mailed = notice is not None and not notice.notified and await self._mail(tenant, notice)
        if deleted:
            log.info("retention", extra={"tenant_id": str(tenant.tenant_id), "deleted": deleted})
        return Trimmed(tenant, deleted, cutoff, notice.deletes_before_ns if notice else None, mailed)

    async def _trim_partition(self, tenant: TenantRetention, partition: str, cutoff: int) -> int:
        deleted = 0
        while True:
            async with self._cells.tenant(tenant.tenant_id, tenant.cell) as conn:
                await storage.delete_summaries_before(conn, tenant.tenant_id, cutoff)
                n = await storage.delete_chunk(conn, partition, tenant.tenant_id, cutoff, self._chunk)
            deleted += n
            if n < self._chunk:
                return deleted

    async def _note(self, tenant: TenantRetention, now_ns: int) -> storage.Notice | None:
        """Announce (or clear) what the coming week's passes may delete; the notice as stored."""
        before_ns = cutoff_ns(now_ns, tenant.retention_days) + NOTICE_DAYS * DAY_NS
        async with self._cells.tenant(tenant.tenant_id, tenant.cell) as conn:
            oldest = await storage.oldest_end_before(conn, tenant.tenant_id, before_ns)
            if oldest is None:
                await storage.clear_notice(conn, tenant.tenant_id)
                return None
            matured = now_ns - NOTICE_DAYS * DAY_NS
            days = tenant.retention_days
            await storage.announce(conn, tenant.tenant_id, now_ns, before_ns, days, matured)
            effective = now_ns + NOTICE_DAYS * DAY_NS
            fresh = storage.Notice(now_ns, effective, before_ns, oldest, days, tenant.plan_code, False)
            return await storage.save_notice(conn, tenant.tenant_id, fresh)

    async def _mail(self, tenant: TenantRetention, notice: storage.Notice) -> bool:
        """Mail the notice through tenancy, then mark it; on failure the next pass tries again."""
        try:
            await self._notifier.notify(tenant, notice)
        except ServiceError as exc:
            log.warning(
                "retention notice not mailed; the next pass retries it",
                extra={"tenant_id": str(tenant.tenant_id), "error": exc.message},
            )
            return False
        async with self._cells.tenant(tenant.tenant_id, tenant.cell) as conn:
            await storage.mark_notified(conn, tenant.tenant_id, notice.notice_ns)
        return True
