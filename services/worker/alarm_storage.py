"""The worker's reads for alarm evaluation, on the tenant's cell: a series' points since a time, and when
a device last sent. Blocks never cross an hour (ingest splits batches at hour boundaries), so a block
holding points after ``after_ns`` starts at most an hour before it: the bound keeps the read to the
partitions that can hold them."""

from __future__ import annotations

import uuid

import numpy as np
from psycopg import AsyncConnection

import tscodec

HOUR_NS = 3600 * 1_000_000_000


async def points_after(
    conn: AsyncConnection, tenant_id: uuid.UUID, series_id: uuid.UUID, after_ns: int, until_ns: int
) -> tuple[np.ndarray, np.ndarray]:
    """The series' points with after_ns < t <= until_ns, in time order (one per timestamp, as stored)."""
    cur = await conn.execute(
        "SELECT payload_chunks || payload_rest FROM telemetry.blocks WHERE tenant_id = %s AND series_id = %s"
        " AND start_ns > %s AND start_ns <= %s AND end_ns > %s ORDER BY start_ns, id",
        [tenant_id, series_id, after_ns - HOUR_NS, until_ns, after_ns],
    )
    parts = [tscodec.decode(row[0]) for row in await cur.fetchall()]
    if not parts:
        return np.empty(0, np.int64), np.empty(0, np.float64)
    timestamps = np.concatenate([np.asarray(p[0], dtype=np.int64) for p in parts])
    values = np.concatenate([np.asarray(p[1], dtype=np.float64) for p in parts])
    order = np.argsort(timestamps, kind="stable")
    timestamps, values = timestamps[order], values[order]
    keep = (timestamps > after_ns) & (timestamps <= until_ns)
    return timestamps[keep], values[keep]


async def last_batch_ns(conn: AsyncConnection, device_id: uuid.UUID) -> int | None:
    """When the device's last batch arrived (ns), from ingest's device activity; None if it never sent."""
    cur = await conn.execute(
        "SELECT (extract(epoch FROM last_batch_at) * 1e9)::bigint FROM telemetry.device_activity"
        " WHERE device_id = %s",
        [device_id],
    )
    row = await cur.fetchone()
    return row[0] if row and row[0] is not None else None
