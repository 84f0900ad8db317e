"""Writing the package of a grantee's export of a grant (docs/SHARING.md, "Exporting a grant"): only what the
grant lets through, read as the grantee's own shared queries read it.

Tenancy decides each step (services/worker/grant_checks.py): before writing, it answers the grant's terms and
the one part of the owner's catalog the package may hold (the granted series still in the catalog, their
machines and those machines' ancestors); before each series is read, the read is decided and audited exactly
as a `sharedPoints` or `sharedAggregate` query over the whole grant would be; before the package is
published, the grant is checked once more. A refusal at any step (revoked, expired) fails the export and
nothing is published.

What is read comes from the analytics query code the shared queries use (``QueryService.authorized_page``
and ``authorized_buckets``), in a transaction scoped to the owner tenant on its cell, so a RAW grant's points
are those `sharedPoints` returns and a MINUTE or HOUR grant's buckets — one per level, empty ones left out —
those `sharedAggregate` returns with the level as its bucket. A grant's level decides the package's content:
points files for RAW, aggregates files (format version 2) otherwise.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from services.analytics.grids import Grid
from services.analytics.queries import Buckets
from services.analytics.service import MAX_LIMIT, Page, bucket_grid, time_zone
from services.exchange.package import ASSETS, SERIES, PackageWriter
from services.worker.catalog import asset_row, series_row
from services.worker.grant_checks import FINISH, WRITE, Asking, TenancyGrantChecks
from sfcloud.v1 import common_pb2, sharing_pb2

LEVELS = {  # the grant's level: (its name in the manifest, the bucket width; 0 for raw points)
    sharing_pb2.GRANULARITY_RAW: ("raw", 0),
    sharing_pb2.GRANULARITY_MINUTE: ("minute", 60 * 10**9),
    sharing_pb2.GRANULARITY_HOUR: ("hour", 3600 * 10**9),
}
WINDOW_BUCKETS = 100_000  # buckets read at once (the analytics grid caps one answer far above this)


@dataclass(frozen=True)
class Progress:
    """Where an export records how far it got: each takes (rows, series)."""

    totals: Callable[[int, int], Awaitable[None]]  # what there is to write (rows 0: not known ahead)
    done: Callable[[int, int], Awaitable[None]]  # written so far


class AuthorizedReads(Protocol):
    async def authorized_page(
        self, tenant_id: uuid.UUID, cell: str, series: uuid.UUID, start_ns: int, end_ns: int, limit: int,
        page_token: str,
    ) -> Page: ...  # fmt: skip

    async def authorized_buckets(
        self, tenant_id: uuid.UUID, cell: str, series: uuid.UUID, grid: Grid
    ) -> Buckets: ...


class GrantPackages:
    def __init__(self, checks: TenancyGrantChecks, reads: AuthorizedReads) -> None:
        self._checks = checks
        self._reads = reads

    async def write(
        self, asking: Asking, grant_id: str, writer: PackageWriter, with_csv: bool, progress: Progress
    ) -> dict[str, Any]:
        """Writes the grant's files into ``writer``; the manifest's grant, tenant and totals."""
        terms = await self._checks.step(asking, grant_id, WRITE)
        grant = terms.grant
        level, width = LEVELS[grant.granularity]
        assets, series = [asset_row(a) for a in terms.assets], [series_row(s) for s in terms.series]
        await progress.totals(0, len(series))
        await asyncio.to_thread(writer.write_json, ASSETS, "assets", "assets", assets)
        await asyncio.to_thread(writer.write_json, SERIES, "series", "series", series)
        rows = 0
        for number, shared in enumerate(series, 1):
            owner = await self._checks.read(
                asking, grant_id, shared["id"], grant.range.start_ns, grant.range.end_ns, width
            )
            if width:
                columns = await self._buckets(owner, uuid.UUID(shared["id"]), grant.range, width)
                await asyncio.to_thread(writer.write_aggregates, shared["id"], width, columns, with_csv)
                rows += int(columns["start_ns"].size)
            else:
                timestamps, values = await self._points(owner, uuid.UUID(shared["id"]), grant.range)
                await asyncio.to_thread(writer.write_points, shared["id"], timestamps, values, with_csv)
                rows += int(timestamps.size)
            await progress.done(rows, number)
        await self._checks.step(asking, grant_id, FINISH, rows)  # published only if the grant still holds
        return {
            "tenant": {"id": grant.grantor_tenant_id, "name": grant.grantor_name},
            "grant": _grant_section(grant, level, width),
            "totals": {"assets": len(assets), "series": len(series), "buckets" if width else "points": rows},
        }

    async def _points(
        self, owner: tuple[uuid.UUID, str], series: uuid.UUID, span: common_pb2.TimeRange
    ) -> tuple[np.ndarray, np.ndarray]:
        pages, token = [], ""
        while True:
            page = await self._reads.authorized_page(
                *owner, series, span.start_ns, span.end_ns, MAX_LIMIT, token
            )
            pages.append(page)
            token = page.next_token
            if not token:
                break
        return np.concatenate([p.timestamps for p in pages]), np.concatenate([p.values for p in pages])

    async def _buckets(
        self, owner: tuple[uuid.UUID, str], series: uuid.UUID, span: common_pb2.TimeRange, width: int
    ) -> dict[str, np.ndarray]:
        """The non-empty buckets of ``width`` over the grant's range, a window of them at a time."""
        found = []
        for lo in range(span.start_ns, span.end_ns, WINDOW_BUCKETS * width):
            grid = bucket_grid(
                lo, min(lo + WINDOW_BUCKETS * width, span.end_ns), width, None, time_zone("UTC")
            )
            found.append(await self._reads.authorized_buckets(*owner, series, grid))
        return {
            "start_ns": np.concatenate([b.starts for b in found]).astype(np.int64),
            "count": np.concatenate([b.counts for b in found]).astype(np.int64),
            "min": np.concatenate([b.mins for b in found]),
            "max": np.concatenate([b.maxs for b in found]),
            "sum": np.concatenate([b.sums for b in found]),
            "avg": np.concatenate([b.avgs for b in found]),
        }


def _grant_section(grant: sharing_pb2.DataGrant, level: str, width: int) -> dict[str, Any]:
    return {
        "id": grant.id,
        "grantee": {"id": grant.grantee_id, "name": grant.grantee_name},
        "from_ns": grant.range.start_ns,
        "to_ns": grant.range.end_ns,
        "level": level,
        "bucket_ns": width,
        "purpose": grant.purpose,
        "expires_ns": grant.expires_ns,
    }
