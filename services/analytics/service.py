"""The query rules: who may read, which ranges, bucket sizes, time zones and chart widths are allowed.

Aggregates and chart columns are answered from block statistics wherever a block lies wholly inside one
bucket and free of NaN values, decoding only the others (services/analytics/queries.py).
"""

from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from services.analytics import grids, queries, storage
from services.analytics.grids import Grid
from services.analytics.queries import Buckets, merged_points
from services.runtime import rollups
from services.runtime.errors import InvalidArgument, PermissionDenied
from services.runtime.principal import Kind, Principal
from services.runtime.transactions import CellTransactions
from services.runtime.validation import parse_id

DEFAULT_LIMIT = 10_000
MAX_LIMIT = 100_000
MAX_BUCKETS = 1_000_000
MAX_COLUMNS = 10_000
CALENDAR_DAYS = {"day": 1, "week": 7}
MAX_LATEST = 5_000


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


class QueryService:
    def __init__(self, cells: CellTransactions) -> None:
        self._cells = cells

    async def read_points(
        self, caller: Principal, series_id: str, start_ns: int, end_ns: int, limit: int
    ) -> tuple[np.ndarray, np.ndarray, bool]:
        tenant_id = reader_tenant(caller)
        series = parse_id("series_id", series_id)
        check_range(start_ns, end_ns)
        limit = limit or DEFAULT_LIMIT
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidArgument.of("limit", f"must be between 1 and {MAX_LIMIT}")
        async with self._cells.tenant(tenant_id, caller.cell) as conn:
            payloads = await storage.block_payloads(conn, series, start_ns, end_ns)
        timestamps, values = merged_points(payloads, start_ns, end_ns)
        return timestamps[:limit], values[:limit], timestamps.size > limit

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
        if grid.edges[-1] <= grid.edges[0]:
            return queries.combine(grid, queries.from_stats(grid, queries.summaries([])), with_stddev)
        return await self._bucketed(caller, tenant_id, series, grid, with_stddev)

    async def chart_series(
        self, caller: Principal, series_id: str, start_ns: int, end_ns: int, columns: int
    ) -> Buckets:
        """M4: first, last, min and max point per pixel column (``min_ts``/``max_ts`` may be unknown)."""
        tenant_id = reader_tenant(caller)
        series = parse_id("series_id", series_id)
        check_range(start_ns, end_ns)
        if not 1 <= columns <= MAX_COLUMNS:
            raise InvalidArgument.of("columns", f"must be between 1 and {MAX_COLUMNS:,}")
        return await self._bucketed(
            caller, tenant_id, series, grids.columns(start_ns, end_ns, columns), False
        )

    async def _bucketed(
        self, caller: Principal, tenant_id: uuid.UUID, series: uuid.UUID, grid: Grid, with_stddev: bool
    ) -> Buckets:
        """Blocks inside one bucket answer from their statistics, the others are decoded. Stored
        statistics hold no sum of squares: ``with_stddev`` decodes every block."""
        edges = grid.edges.tolist()
        cuts = "{" + ",".join(map(str, [] if grid.width else edges[1:-1])) + "}"  # quicker than a list
        width = None if with_stddev else rollups.usable_width(grid.edges)  # rollups keep no squares
        async with self._cells.tenant(tenant_id, caller.cell) as conn:
            if width and not await storage.has_rollups(conn, series, width, edges[0], edges[-1]):
                width = None  # the common case, and the plain statement is the quicker one
            found = await storage.block_statistics(
                conn, series, edges[0], edges[-1], cuts, grid.width, with_stddev, width
            )
        stats = queries.summaries([row[:8] for row in found if row[0] is not None and row[8] is None])
        payloads = [row[8] for row in found if row[8] is not None]
        entries = [rollups.unpack(row[9]) for row in found if row[9] is not None]
        parts = np.concatenate(
            [
                queries.from_stats(grid, stats),
                queries.from_payloads(grid, payloads, with_stddev),
                queries.from_rollups(grid, entries),
            ]
        )
        return queries.combine(grid, parts, with_stddev)

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

    async def retention_notice(self, caller: Principal) -> tuple | None:
        """What retention deletes of the caller's tenant within the week (row-level security: only its own)."""
        tenant_id = reader_tenant(caller)
        async with self._cells.tenant(tenant_id, caller.cell) as conn:
            return await storage.retention_notice(conn)
