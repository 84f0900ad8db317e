"""The query rules: who may read, which ranges and bucket sizes are allowed."""

from __future__ import annotations

import uuid

import numpy as np

from services.analytics import storage
from services.analytics.queries import Buckets, bucketize, merged_points
from services.runtime.errors import InvalidArgument, PermissionDenied
from services.runtime.principal import Kind, Principal
from services.runtime.transactions import CellTransactions
from services.runtime.validation import parse_id

DEFAULT_LIMIT = 10_000
MAX_LIMIT = 100_000
MAX_BUCKETS = 100_000
MAX_LATEST = 5_000


def reader_tenant(caller: Principal) -> uuid.UUID:
    """Users and services acting for a tenant may read; devices only write."""
    if caller.kind is Kind.DEVICE:
        raise PermissionDenied("devices cannot query telemetry", reason="NOT_A_READER")
    return caller.require_tenant()


def check_range(start_ns: int, end_ns: int) -> None:
    if end_ns <= start_ns:
        raise InvalidArgument.of("range", "end_ns must be after start_ns", reason="EMPTY_RANGE")


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
        self, caller: Principal, series_id: str, start_ns: int, end_ns: int, bucket_ns: int
    ) -> Buckets:
        tenant_id = reader_tenant(caller)
        series = parse_id("series_id", series_id)
        check_range(start_ns, end_ns)
        if bucket_ns <= 0:
            raise InvalidArgument.of("bucket_ns", "must be positive")
        if (end_ns - start_ns) // bucket_ns > MAX_BUCKETS:
            raise InvalidArgument.of("bucket_ns", f"the range would hold more than {MAX_BUCKETS} buckets")
        async with self._cells.tenant(tenant_id, caller.cell) as conn:
            payloads = await storage.block_payloads(conn, series, start_ns, end_ns)
        return bucketize(*merged_points(payloads, start_ns, end_ns), bucket_ns)

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
