"""The query rules: who may read, which series, ranges, bucket sizes, time zones and chart widths are allowed.

Aggregates and chart columns are answered from block statistics wherever a block lies wholly inside one
bucket and free of NaN values, decoding only the others (services/analytics/queries.py). Raw points are
read a page at a time (services/analytics/paging.py). A series id the caller's tenant does not have
(another tenant's included) is NOT_FOUND; tenancy says which exist (``SeriesCatalog``).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from services.analytics import aligned, grids, paging, queries, storage
from services.analytics.aligned import Aligned
from services.analytics.grids import Grid
from services.analytics.offload import off_loop
from services.analytics.queries import Buckets
from services.runtime import rollups
from services.runtime.errors import InvalidArgument, NotFound, PermissionDenied
from services.runtime.principal import Kind, Principal
from services.runtime.transactions import CellTransactions
from services.runtime.validation import parse_day, parse_id

DEFAULT_LIMIT = 10_000
MAX_LIMIT = 100_000
MAX_BUCKETS = 1_000_000
MAX_COLUMNS = 10_000
CALENDAR_DAYS = {"day": 1, "week": 7}
MAX_LATEST = 5_000
MAX_USAGE_DAYS = 31  # DeviceUsage answers one month at most
MAX_ALIGNED = 100  # series per AlignedAggregate call
# An answer of at most this many blocks and buckets is combined on the event loop; a larger one in a worker
# thread (a hop costs ~0.1 ms)
INLINE_BLOCKS, INLINE_BUCKETS = 8, 1_000
ALIGNED_AT_ONCE = 4  # of its series read at once (each one transaction; a pool holds 8 connections)


def reader_tenant(caller: Principal) -> uuid.UUID:
    """Users and services acting for a tenant may read; devices only write."""
    if caller.kind is Kind.DEVICE:
        raise PermissionDenied("devices cannot query telemetry", reason="NOT_A_READER")
    return caller.require_tenant()


def check_range(start_ns: int, end_ns: int) -> None:
    if end_ns <= start_ns:
        raise InvalidArgument.of("range", "end_ns must be after start_ns", reason="EMPTY_RANGE")


def time_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise InvalidArgument.of(
            "time_zone",
            f"unknown time zone {name!r} (an IANA name like Europe/Berlin)",
            reason="UNKNOWN_TIME_ZONE",
        ) from e


def bucket_grid(start_ns: int, end_ns: int, bucket_ns: int, calendar: str | None, zone: ZoneInfo) -> Grid:
    """The buckets of an aggregate; telemetry starts in 1970, so the range is cut there first."""
    if calendar:
        if bucket_ns:
            raise InvalidArgument.of("bucket_ns", "must be 0 with calendar buckets")
        return grids.calendar(max(start_ns, 0), end_ns, zone, CALENDAR_DAYS[calendar])
    if bucket_ns <= 0:
        raise InvalidArgument.of("bucket_ns", "must be positive (or choose calendar buckets)")
    if grids.fixed_count(start_ns, end_ns, bucket_ns) > MAX_BUCKETS:
        raise InvalidArgument.of(
            "bucket_ns", f"the range would hold more than {MAX_BUCKETS:,} buckets", reason="TOO_MANY_BUCKETS"
        )
    return grids.fixed(max(start_ns, 0), end_ns, bucket_ns)


def page_size(field: str, size: int) -> int:
    size = size or DEFAULT_LIMIT
    if not 1 <= size <= MAX_LIMIT:
        raise InvalidArgument.of(field, f"must be between 1 and {MAX_LIMIT:,}")
    return size


class SeriesCatalog(Protocol):
    async def unknown(self, tenant_id: uuid.UUID, series_ids: list[uuid.UUID]) -> list[uuid.UUID]:
        """The ids among ``series_ids`` that are not series of the tenant."""


@dataclass(frozen=True)
class Page:
    timestamps: np.ndarray
    values: np.ndarray
    next_token: str  # empty on the last page

    @property
    def has_more(self) -> bool:
        return bool(self.next_token)


@dataclass(frozen=True)
class _PointRead:
    """A validated raw-point read: whose (the tenant and the cell holding its telemetry), which series and
    range, and where it goes on."""

    tenant_id: uuid.UUID
    cell: str
    series: uuid.UUID
    start_ns: int
    end_ns: int
    resume_ns: int


class QueryService:
    def __init__(self, cells: CellTransactions, catalog: SeriesCatalog) -> None:
        self._cells = cells
        self._catalog = catalog
        self.reads = paging.ReadStats()

    async def read_points(
        self, caller: Principal, series_id: str, start_ns: int, end_ns: int, limit: int, page_token: str = ""
    ) -> Page:
        """The first ``limit`` points from where ``page_token`` left off (the range's start without one)."""
        size = page_size("limit", limit)
        read = await self._point_read(caller, series_id, start_ns, end_ns, page_token)
        return await self._page(read, read.resume_ns, size)

    async def stream_points(
        self, caller: Principal, series_id: str, start_ns: int, end_ns: int, size: int, page_token: str = ""
    ) -> AsyncIterator[Page]:
        """The range's points as pages of ``size``, each read when the previous one was taken.

        Each page is its own short snapshot transaction; no connection is held while a page waits for the
        client, and a page holds at most ``paging.CHUNK_BLOCKS`` payloads and its points.
        """
        size = page_size("page_size", size)
        read = await self._point_read(caller, series_id, start_ns, end_ns, page_token)
        self.reads.open_streams += 1
        try:
            at = read.resume_ns
            while at < read.end_ns:
                page = await self._page(read, at, size)
                if page.timestamps.size:
                    yield page
                if not page.has_more:
                    return
                at = int(page.timestamps[-1]) + 1
        finally:
            self.reads.open_streams -= 1

    async def _point_read(
        self, caller: Principal, series_id: str, start_ns: int, end_ns: int, page_token: str
    ) -> _PointRead:
        tenant_id = reader_tenant(caller)
        series = parse_id("series_id", series_id)
        check_range(start_ns, end_ns)
        resume_ns = paging.resume_at(page_token, series, start_ns, end_ns)
        await self._require_series(tenant_id, [series])
        return _PointRead(tenant_id, caller.cell, series, start_ns, end_ns, resume_ns)

    async def authorized_page(
        self,
        tenant_id: uuid.UUID,
        cell: str,
        series: uuid.UUID,
        start_ns: int,
        end_ns: int,
        limit: int,
        page_token: str,
    ) -> Page:
        """A page of a read someone else authorized (a data-sharing grant): the tenant and cell are its."""
        size = page_size("limit", limit)
        resume_ns = paging.resume_at(page_token, series, start_ns, end_ns)
        return await self._page(
            _PointRead(tenant_id, cell, series, start_ns, end_ns, resume_ns), resume_ns, size
        )

    async def _page(self, read: _PointRead, lo: int, size: int) -> Page:
        async with self._cells.tenant(read.tenant_id, read.cell, snapshot=True) as conn:

            async def fetch(after: tuple[int, int] | None, n: int) -> list[tuple[int, int, bytes]]:
                return await storage.block_chunk(conn, read.series, lo, read.end_ns, after, n)

            timestamps, values, more = await paging.read_page(fetch, lo, read.end_ns, size, self.reads)
        self.reads.pages += 1
        token = (
            paging.page_token(read.series, read.start_ns, read.end_ns, int(timestamps[-1])) if more else ""
        )
        return Page(timestamps, values, token)

    async def require_series(self, tenant_id: uuid.UUID, series: uuid.UUID) -> None:
        """NOT_FOUND unless ``series`` is one of the tenant's (for other analytics that name series)."""
        await self._require_series(tenant_id, [series])

    async def _require_series(self, tenant_id: uuid.UUID, series: list[uuid.UUID]) -> None:
        unknown = await self._catalog.unknown(tenant_id, series)
        if unknown:
            raise NotFound(f"series {unknown[0]} not found", reason="SERIES_NOT_FOUND")

    async def aggregate(
        self,
        caller: Principal,
        series_id: str,
        start_ns: int,
        end_ns: int,
        bucket_ns: int,
        *,
        calendar: str | None = None,
        zone_name: str = "",
        with_stddev: bool = False,
    ) -> Buckets:
        """Statistics per bucket: fixed ``bucket_ns`` since the epoch, or ``calendar`` "day"/"week"."""
        tenant_id = reader_tenant(caller)
        series = parse_id("series_id", series_id)
        check_range(start_ns, end_ns)
        grid = bucket_grid(start_ns, end_ns, bucket_ns, calendar, time_zone(zone_name))
        await self._require_series(tenant_id, [series])
        if grid.edges[-1] <= grid.edges[0]:
            return queries.combine(grid, queries.from_stats(grid, queries.summaries([])), with_stddev)
        return await self._bucketed(caller.cell, tenant_id, series, grid, with_stddev)

    async def aligned_aggregate(
        self,
        caller: Principal,
        series_ids: list[str],
        start_ns: int,
        end_ns: int,
        bucket_ns: int,
        function: str | None,
        *,
        calendar: str | None = None,
        zone_name: str = "",
    ) -> Aligned:
        """``function`` of each series per bucket (as ``aggregate``), all on one axis of bucket starts."""
        tenant_id = reader_tenant(caller)
        if not 1 <= len(series_ids) <= MAX_ALIGNED:
            raise InvalidArgument.of(
                "series_ids", f"must name 1 to {MAX_ALIGNED} series", reason="TOO_MANY_SERIES"
            )
        ids = [parse_id("series_ids", s) for s in series_ids]
        if len(set(ids)) < len(ids):
            raise InvalidArgument.of("series_ids", "must not name a series twice")
        if function not in aligned.FUNCTIONS:
            raise InvalidArgument.of("function", f"must be one of {', '.join(aligned.FUNCTIONS)}")
        check_range(start_ns, end_ns)
        grid = bucket_grid(start_ns, end_ns, bucket_ns, calendar, time_zone(zone_name))
        await self._require_series(tenant_id, ids)
        if grid.edges[-1] <= grid.edges[0]:
            return aligned.align([_no_buckets(grid) for _ in ids], function)
        turns = asyncio.Semaphore(ALIGNED_AT_ONCE)

        async def column(series: uuid.UUID) -> Buckets:
            async with turns:
                return await self._bucketed(caller.cell, tenant_id, series, grid, False)

        return aligned.align(await asyncio.gather(*(column(s) for s in ids)), function)

    async def chart_series(
        self, caller: Principal, series_id: str, start_ns: int, end_ns: int, columns: int
    ) -> Buckets:
        """M4: first, last, min and max point per pixel column (``min_ts``/``max_ts`` may be unknown)."""
        tenant_id = reader_tenant(caller)
        series = parse_id("series_id", series_id)
        check_range(start_ns, end_ns)
        if not 1 <= columns <= MAX_COLUMNS:
            raise InvalidArgument.of("columns", f"must be between 1 and {MAX_COLUMNS:,}")
        await self._require_series(tenant_id, [series])
        return await self._bucketed(
            caller.cell, tenant_id, series, grids.columns(start_ns, end_ns, columns), False
        )

    async def authorized_buckets(
        self, tenant_id: uuid.UUID, cell: str, series: uuid.UUID, grid: Grid
    ) -> Buckets:
        """An aggregate someone else authorized (a data-sharing grant): the tenant and cell are its."""
        if grid.edges[-1] <= grid.edges[0]:
            return _no_buckets(grid)
        return await self._bucketed(cell, tenant_id, series, grid, False)

    async def _bucketed(
        self, cell: str, tenant_id: uuid.UUID, series: uuid.UUID, grid: Grid, with_stddev: bool
    ) -> Buckets:
        """Blocks inside one bucket answer from their statistics, the others are decoded. Stored
        statistics hold no sum of squares: ``with_stddev`` decodes every block.

        Decoding and combining run in a worker thread when there is much of either (the codec and numpy
        release the GIL), so a long range does not hold up the event loop and other tenants' calls; they
        run inside the tenant's transaction, so the tenant's limit of reads at once
        (services/analytics/tenant_limits.py) bounds them too."""
        edges = grid.edges.tolist()
        cuts = "{" + ",".join(map(str, [] if grid.width else edges[1:-1])) + "}"  # quicker than a list
        width = None if with_stddev else rollups.usable_width(grid.edges)  # rollups keep no squares
        async with self._cells.tenant(tenant_id, cell) as conn:
            if width and not await storage.has_rollups(conn, series, width, edges[0], edges[-1]):
                width = None  # the common case, and the plain statement is the quicker one
            found = await storage.block_statistics(
                conn, series, edges[0], edges[-1], cuts, grid.width, with_stddev, width
            )
            if len(found) <= INLINE_BLOCKS and grid.starts.size <= INLINE_BUCKETS:
                return _combined(grid, found, with_stddev)
            return await off_loop(_combined, grid, found, with_stddev)

    async def latest(self, caller: Principal, series_ids: list[str]) -> list[tuple[uuid.UUID, int, float]]:
        tenant_id = reader_tenant(caller)
        if len(series_ids) > MAX_LATEST:
            raise InvalidArgument.of("series_ids", f"at most {MAX_LATEST} series per call")
        ids = [parse_id("series_ids", s) for s in series_ids]
        async with self._cells.tenant(tenant_id, caller.cell) as conn:
            return await storage.latest_points(conn, ids)

    async def device_activity(self, caller: Principal) -> list[tuple]:
        tenant_id = reader_tenant(caller)
        async with self._cells.tenant(tenant_id, caller.cell) as conn:
            return await storage.device_activity(conn)

    async def device_usage(self, caller: Principal, first_day: str, last_day: str) -> list[tuple]:
        """What each device stored per day: only tenancy asks (its utilisation report), scoped to one tenant."""
        caller.require_service("tenancy")
        tenant_id = caller.require_tenant()
        first, last = parse_day("first_day", first_day), parse_day("last_day", last_day)
        if not 0 <= (last - first).days < MAX_USAGE_DAYS:
            raise InvalidArgument.of(
                "last_day", f"must be on or after first_day, at most {MAX_USAGE_DAYS} days later"
            )
        async with self._cells.tenant(tenant_id, caller.cell) as conn:
            return await storage.device_usage(conn, first, last)

    async def retention_notice(self, caller: Principal) -> tuple | None:
        """What retention deletes of the caller's tenant within the week (row-level security: only its own)."""
        tenant_id = reader_tenant(caller)
        async with self._cells.tenant(tenant_id, caller.cell) as conn:
            return await storage.retention_notice(conn)


def _combined(grid: Grid, found: list[tuple], with_stddev: bool) -> Buckets:
    """The buckets from ``block_statistics``' rows: statistics, decoded blocks and rollups combined."""
    payloads = [row[8] for row in found if row[8] is not None]
    stats = queries.summaries([row[:8] for row in found if row[0] is not None and row[8] is None])
    entries = [rollups.unpack(row[9]) for row in found if row[9] is not None]
    parts = np.concatenate(
        [
            queries.from_stats(grid, stats),
            queries.from_payloads(grid, payloads, with_stddev),
            queries.from_rollups(grid, entries),
        ]
    )
    return queries.combine(grid, parts, with_stddev)


def _no_buckets(grid: Grid) -> Buckets:
    return queries.combine(grid, queries.from_stats(grid, queries.summaries([])))
