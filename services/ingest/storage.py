"""Writing telemetry blocks: one row per series per batch, all in the caller's transaction."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import date
from operator import attrgetter

from psycopg import AsyncConnection

from services.runtime.blocks import BLOCK_SPAN_NS, COLUMNS, Block, column_arrays, insert_sql


@dataclass(frozen=True)
class BatchKey:
    """What makes a batch idempotent: the client's session and the batch's number in it."""

    session_id: uuid.UUID
    batch_no: int


LATE_AFTER_NS = 3600 * 10**9  # a point more than an hour old on arrival counts as late

# Arrays go in binary (``%b``): psycopg's text form quotes every element through a regular expression,
# which cost more than the rest of a batch of a thousand series.
_INSERT_BLOCKS = insert_sql("%(tenant)s", [f"%(c{i})b" for i in range(len(COLUMNS))])
_WRITE = (
    # 1. claim the batch: mark it in the session's window of the 64 numbers at and below its highest
    # (migration 0023), or nothing when the batch is a retry
    "WITH claim AS ("  # noqa: S608 (the blocks' INSERT is a constant)
    " INSERT INTO telemetry.ingest_sessions AS s (tenant_id, device_id, session_id, last_batch_no)"
    " VALUES (%(tenant)s, %(device)s, %(session)s, %(batch)s)"
    " ON CONFLICT (tenant_id, device_id, session_id) DO UPDATE SET"
    " last_batch_no = greatest(s.last_batch_no, excluded.last_batch_no),"
    " seen = CASE WHEN excluded.last_batch_no <= s.last_batch_no"
    "  THEN s.seen | (1::bigint << (s.last_batch_no - excluded.last_batch_no)::int)"
    "  WHEN excluded.last_batch_no - s.last_batch_no >= 64 THEN 1"
    "  ELSE (s.seen << (excluded.last_batch_no - s.last_batch_no)::int) | 1 END,"
    " updated_at = now()"
    " WHERE excluded.last_batch_no > s.last_batch_no OR (s.last_batch_no - excluded.last_batch_no < 64"
    " AND s.seen & (1::bigint << (s.last_batch_no - excluded.last_batch_no)::int) = 0) RETURNING 1),"
    # 2. the blocks, only when claimed
    " written AS ("
    f" {_INSERT_BLOCKS} WHERE EXISTS (SELECT 1 FROM claim)"
    " RETURNING series_id, start_ns, count, octet_length(payload_chunks) + octet_length(payload_rest) AS bytes,"
    " end_ns, last_value),"
    # 3. the rollups of the hours written into are no longer current (migration 0012)
    " stale AS ("
    " DELETE FROM telemetry.rollups r USING written w WHERE r.tenant_id = %(tenant)s"
    " AND r.series_id = w.series_id AND r.hour_ns = w.start_ns - w.start_ns %% 3600000000000),"
    # 4. each series' newest point, where the batch holds a newer one
    " latest AS ("
    " INSERT INTO telemetry.series_latest AS l (tenant_id, series_id, ts_ns, value)"
    " SELECT DISTINCT ON (series_id) %(tenant)s, series_id, end_ns, last_value FROM written"
    " ORDER BY series_id, end_ns DESC"
    " ON CONFLICT (tenant_id, series_id) DO UPDATE SET ts_ns = excluded.ts_ns, value = excluded.value"
    " WHERE l.ts_ns < excluded.ts_ns),"
    # 5. the device's usage of the day, counting what was written
    " metered AS ("
    " INSERT INTO telemetry.usage_daily AS u (tenant_id, day, device_id, points, bytes, batches, conflicts)"
    " SELECT %(tenant)s, (now() AT TIME ZONE 'UTC')::date, %(device)s, coalesce(sum(count), 0),"
    " coalesce(sum(bytes), 0), 1, %(conflicts)s FROM written HAVING EXISTS (SELECT 1 FROM claim)"
    " ON CONFLICT (tenant_id, day, device_id) DO UPDATE SET points = u.points + excluded.points,"
    " bytes = u.bytes + excluded.bytes, batches = u.batches + 1, conflicts = u.conflicts + excluded.conflicts),"
    # 6. the device's activity: last batch, newest point, points that arrived more than an hour late
    " active AS ("
    " INSERT INTO telemetry.device_activity AS a (tenant_id, device_id, last_batch_at, last_point_ns, late_points)"
    " SELECT %(tenant)s, %(device)s, now(), max(end_ns),"
    " coalesce(sum(count) FILTER (WHERE end_ns < %(late_before)s), 0) FROM written HAVING EXISTS (SELECT 1 FROM claim)"
    " ON CONFLICT (tenant_id, device_id) DO UPDATE SET last_batch_at = now(),"
    " last_point_ns = greatest(a.last_point_ns, excluded.last_point_ns), late_points = a.late_points + excluded.late_points)"
    " SELECT EXISTS (SELECT 1 FROM claim)"
)


async def write_blocks(
    conn: AsyncConnection,
    tenant_id: uuid.UUID,
    device_id: uuid.UUID,
    batch: BatchKey,
    blocks: list[Block],
    conflicts: int = 0,
) -> bool:
    """Store a batch and its usage in one statement; False when it was stored before (a retry)."""
    columns = column_arrays(blocks)
    params = {
        "tenant": tenant_id,
        "late_before": time.time_ns() - LATE_AFTER_NS,
        "device": device_id,
        "session": batch.session_id,
        "batch": batch.batch_no,
        "conflicts": conflicts,
    }
    cur = await conn.execute(_WRITE, params | {f"c{i}": column for i, column in enumerate(columns)})
    return (await cur.fetchone())[0]


async def record_refusal(
    conn: AsyncConnection, tenant_id: uuid.UUID, device_id: uuid.UUID, reason: str, message: str
) -> None:
    """A refused batch, so the tenant can see what was refused and why (in its own transaction)."""
    await conn.execute(
        "INSERT INTO telemetry.device_activity AS a (tenant_id, device_id, refused_batches, last_refusal_at,"
        " last_refusal_reason, last_refusal_message) VALUES (%s, %s, 1, now(), %s, %s)"
        " ON CONFLICT (tenant_id, device_id) DO UPDATE SET refused_batches = a.refused_batches + 1,"
        " last_refusal_at = now(), last_refusal_reason = excluded.last_refusal_reason,"
        " last_refusal_message = excluded.last_refusal_message",
        [tenant_id, device_id, reason, message[:500]],
    )


async def lock_series(conn: AsyncConnection, series_ids: list[uuid.UUID]) -> None:
    """Writers of the same series take turns (in a fixed order, so they never deadlock) until commit,
    so two batches can never both store a value for the same timestamp."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended(id::text, 0)) FROM unnest(%b::uuid[]) AS s(id) ORDER BY id",
        [sorted(series_ids, key=attrgetter("int"))],  # UUID order, compared in C (not UUID.__lt__)
    )


# A series whose newest stored point (series_latest, kept in the statement that stores each batch) is
# before the range has no block in it: live data, sent in time order, skips the block lookup, which
# would otherwise visit every block the series got in the last hour (10 a second: up to 36,000).
STORED_TIMESTAMPS = (
    "WITH wanted AS MATERIALIZED ("
    " SELECT r.id, r.lo, r.hi FROM unnest(%b::uuid[], %b::bigint[], %b::bigint[]) AS r(id, lo, hi)"
    " WHERE NOT EXISTS (SELECT FROM telemetry.series_latest l WHERE l.series_id = r.id AND l.ts_ns < r.lo))"
    " SELECT b.series_id, b.payload_chunks || b.payload_rest FROM wanted r"
    " JOIN telemetry.blocks b ON b.series_id = r.id AND b.end_ns >= r.lo AND b.start_ns <= r.hi"
    " AND b.start_ns > r.lo - %s"
)


async def stored_timestamps(
    conn: AsyncConnection, ranges: list[tuple[uuid.UUID, int, int]]
) -> dict[uuid.UUID, list[bytes]]:
    """Payloads of the stored blocks that overlap each (series, first, last) range, by series.

    A block lies within one hour (services/runtime/blocks.py), so none that overlaps starts before
    ``first - BLOCK_SPAN_NS``: that bound keeps the lookup to the partitions and index range it needs.
    """
    cur = await conn.execute(
        STORED_TIMESTAMPS,
        [[r[0] for r in ranges], [r[1] for r in ranges], [r[2] for r in ranges], BLOCK_SPAN_NS],
    )
    found: dict[uuid.UUID, list[bytes]] = {}
    for series_id, payload in await cur.fetchall():
        found.setdefault(series_id, []).append(payload)
    return found


async def daily_totals(conn: AsyncConnection, day: date) -> tuple[int, int, int]:
    """(points that day, bytes stored up to that day, devices active that day) of the tenant in context."""
    cur = await conn.execute(
        "SELECT coalesce(sum(points) FILTER (WHERE day = %(day)s), 0)::bigint, coalesce(sum(bytes), 0)::bigint,"
        " count(*) FILTER (WHERE day = %(day)s) FROM telemetry.usage_daily WHERE day <= %(day)s",
        {"day": day},
    )
    return await cur.fetchone()


async def delete_tenant_data(conn: AsyncConnection, tenant_id: uuid.UUID) -> int:
    """All of the tenant's telemetry on this cell (the transaction is scoped to the tenant); blocks deleted."""
    await conn.execute("DELETE FROM telemetry.usage_daily WHERE tenant_id = %s", [tenant_id])
    await conn.execute("DELETE FROM telemetry.ingest_sessions WHERE tenant_id = %s", [tenant_id])
    await conn.execute("DELETE FROM telemetry.device_activity WHERE tenant_id = %s", [tenant_id])
    await conn.execute("DELETE FROM telemetry.rollups WHERE tenant_id = %s", [tenant_id])
    await conn.execute("DELETE FROM telemetry.series_latest WHERE tenant_id = %s", [tenant_id])
    await conn.execute("DELETE FROM telemetry.retention_notices WHERE tenant_id = %s", [tenant_id])
    await conn.execute("DELETE FROM telemetry.retention_announcements WHERE tenant_id = %s", [tenant_id])
    # analytics' own tables (migration 0014)
    await conn.execute("DELETE FROM analytics.site_calendars WHERE tenant_id = %s", [tenant_id])
    await conn.execute("DELETE FROM analytics.machine_oee WHERE tenant_id = %s", [tenant_id])
    await conn.execute("DELETE FROM analytics.spc_events WHERE tenant_id = %s", [tenant_id])
    await conn.execute("DELETE FROM analytics.level_assessments WHERE tenant_id = %s", [tenant_id])
    await conn.execute("DELETE FROM analytics.anomaly_models WHERE tenant_id = %s", [tenant_id])
    await conn.execute("DELETE FROM analytics.anomalies WHERE tenant_id = %s", [tenant_id])
    await conn.execute("DELETE FROM telemetry.exports WHERE tenant_id = %s", [tenant_id])
    cur = await conn.execute("DELETE FROM telemetry.blocks WHERE tenant_id = %s", [tenant_id])
    return cur.rowcount
