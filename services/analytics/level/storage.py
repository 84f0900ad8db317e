"""SQL of the smart-factory level: what the tenant does on its cell, and the stored daily assessments
(``analytics.level_assessments``, migration services/ingest/migrations/0017_levels.sql). Every statement
runs in a tenant transaction; row-level security keeps each tenant to its own rows."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb


async def series_reported_since(conn: AsyncConnection, since_ns: int) -> set[uuid.UUID]:
    """Series whose newest point is at or after ``since_ns`` (ingest keeps telemetry.series_latest)."""
    cur = await conn.execute("SELECT series_id FROM telemetry.series_latest WHERE ts_ns >= %s", [since_ns])
    return {row[0] for row in await cur.fetchall()}


async def oee_configuration(conn: AsyncConnection) -> tuple[int, int]:
    """(sites with a shift calendar, machines with OEE settings)."""
    cur = await conn.execute(
        "SELECT (SELECT count(*) FROM analytics.site_calendars), (SELECT count(*) FROM analytics.machine_oee)"
    )
    return await cur.fetchone()


async def anomaly_models(conn: AsyncConnection) -> int:
    cur = await conn.execute("SELECT count(*) FROM analytics.anomaly_models")
    return (await cur.fetchone())[0]


async def spc_events_since(conn: AsyncConnection, since: datetime) -> int:
    cur = await conn.execute("SELECT count(*) FROM analytics.spc_events WHERE recorded_at >= %s", [since])
    return (await cur.fetchone())[0]


async def put_assessment(
    conn: AsyncConnection,
    tenant_id: uuid.UUID,
    day: date,
    level: int,
    criteria: list[dict],
    next_steps: list[str],
    at: datetime,
) -> None:
    """Today's row: the day's last assessment replaces an earlier one."""
    await conn.execute(
        "INSERT INTO analytics.level_assessments (tenant_id, day, level, criteria, next_steps, assessed_at)"
        " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (tenant_id, day) DO UPDATE SET level = excluded.level,"
        " criteria = excluded.criteria, next_steps = excluded.next_steps, assessed_at = excluded.assessed_at",
        [tenant_id, day, level, Jsonb(criteria), Jsonb(next_steps), at],
    )


async def assessments(conn: AsyncConnection, start: datetime, end: datetime) -> list[tuple]:
    """(day, level, criteria, next_steps, assessed_at) assessed in [start, end), oldest first."""
    cur = await conn.execute(
        "SELECT day, level, criteria, next_steps, assessed_at FROM analytics.level_assessments"
        " WHERE assessed_at >= %s AND assessed_at < %s ORDER BY day",
        [start, end],
    )
    return await cur.fetchall()
