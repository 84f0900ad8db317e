"""The analytics service's SQL: reading telemetry blocks (it never writes them)."""

from __future__ import annotations

import uuid

from psycopg import AsyncConnection

from services.runtime.blocks import BLOCK_SPAN_NS


async def block_payloads(
    conn: AsyncConnection, series_id: uuid.UUID, start_ns: int, end_ns: int
) -> list[bytes]:
    """Payloads of the blocks of a series that overlap [start_ns, end_ns), oldest first.

    No such block starts before ``start_ns - BLOCK_SPAN_NS`` (services/runtime/blocks.py): the bound
    lets PostgreSQL skip the partitions and index entries of everything older.
    """
    cur = await conn.execute(
        "SELECT payload FROM telemetry.blocks WHERE series_id = %s AND start_ns < %s AND end_ns >= %s"
        " AND start_ns > %s ORDER BY start_ns, id",
        [series_id, end_ns, start_ns, start_ns - BLOCK_SPAN_NS],
    )
    return [row[0] for row in await cur.fetchall()]


async def latest_points(
    conn: AsyncConnection, series_ids: list[uuid.UUID]
) -> list[tuple[uuid.UUID, int, float]]:
    """(series, time, value) of the newest point of each series that has one."""
    cur = await conn.execute(
        "SELECT s.id, b.end_ns, b.last_value FROM unnest(%s::uuid[]) AS s(id)"
        " CROSS JOIN LATERAL (SELECT end_ns, last_value FROM telemetry.blocks"
        "   WHERE series_id = s.id ORDER BY end_ns DESC, id DESC LIMIT 1) b",
        [series_ids],
    )
    return list(await cur.fetchall())


async def device_activity(conn: AsyncConnection) -> list[tuple]:
    """The activity rows of the tenant in context."""
    cur = await conn.execute(
        "SELECT device_id, last_batch_at, last_point_ns, late_points, refused_batches, last_refusal_at,"
        " last_refusal_reason, last_refusal_message FROM telemetry.device_activity ORDER BY device_id"
    )
    return list(await cur.fetchall())
