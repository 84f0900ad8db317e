"""SQL of production analytics: shift calendars, machine OEE settings, SPC events (schema ``analytics``,
migration services/ingest/migrations/0014_production.sql). Every statement runs in a tenant transaction;
row-level security keeps each tenant to its own rows."""

from __future__ import annotations

import uuid

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

# An event's columns as event_pb (handlers.py) reads them, in both statements.
_INSERT_EVENT = (
    "INSERT INTO analytics.spc_events (tenant_id, series_id, ts_ns, rule, value, chart, subgroup_size,"
    " center, lower_limit, upper_limit) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (tenant_id, series_id, ts_ns, rule) DO NOTHING RETURNING"
    " id, series_id, ts_ns, rule, value, chart, subgroup_size, center, lower_limit, upper_limit,"
    " (extract(epoch FROM recorded_at) * 1e6)::bigint * 1000"
)
_SELECT_EVENTS = (
    "SELECT id, series_id, ts_ns, rule, value, chart, subgroup_size, center, lower_limit, upper_limit,"
    " (extract(epoch FROM recorded_at) * 1e6)::bigint * 1000"
    " FROM analytics.spc_events WHERE ts_ns >= %s AND ts_ns < %s"
    " AND (%s::uuid IS NULL OR series_id = %s::uuid) ORDER BY ts_ns, rule, id LIMIT %s"
)


async def calendar(conn: AsyncConnection, site_id: uuid.UUID) -> tuple[str, list[dict]] | None:
    cur = await conn.execute(
        "SELECT time_zone, shifts FROM analytics.site_calendars WHERE site_id = %s", [site_id]
    )
    return await cur.fetchone()


async def put_calendar(
    conn: AsyncConnection, tenant_id: uuid.UUID, site_id: uuid.UUID, zone: str, shifts: list[dict]
) -> None:
    await conn.execute(
        "INSERT INTO analytics.site_calendars (tenant_id, site_id, time_zone, shifts) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (tenant_id, site_id) DO UPDATE SET time_zone = excluded.time_zone,"
        " shifts = excluded.shifts, updated_at = now()",
        [tenant_id, site_id, zone, Jsonb(shifts)],
    )


async def machine_settings(conn: AsyncConnection, machine_ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple]:
    """machine -> (ideal_cycle_s, state, total, scrap, run_states, max_gap_s) of those that have settings."""
    cur = await conn.execute(
        "SELECT machine_id, ideal_cycle_s, state_series, total_series, scrap_series, run_states, max_gap_s"
        " FROM analytics.machine_oee WHERE machine_id = ANY(%s::uuid[])",
        [machine_ids],
    )
    return {row[0]: row[1:] for row in await cur.fetchall()}


async def put_machine_settings(
    conn: AsyncConnection, tenant_id: uuid.UUID, machine_id: uuid.UUID, values: tuple
) -> None:
    """``values``: (ideal_cycle_s or None, state, total, scrap series or None, run_states, max_gap_s)."""
    await conn.execute(
        "INSERT INTO analytics.machine_oee (tenant_id, machine_id, ideal_cycle_s, state_series, total_series,"
        " scrap_series, run_states, max_gap_s) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (tenant_id, machine_id) DO UPDATE SET ideal_cycle_s = excluded.ideal_cycle_s,"
        " state_series = excluded.state_series, total_series = excluded.total_series,"
        " scrap_series = excluded.scrap_series, run_states = excluded.run_states,"
        " max_gap_s = excluded.max_gap_s, updated_at = now()",
        [tenant_id, machine_id, *values],
    )


async def insert_events(conn: AsyncConnection, tenant_id: uuid.UUID, rows: list[tuple]) -> list[tuple]:
    """Store violations (series, ts_ns, rule, value, chart, subgroup_size, center, lower, upper); one
    already stored for the same series, time and rule is skipped. Returns the new events."""
    stored = []
    for row in rows:
        cur = await conn.execute(
            _INSERT_EVENT,
            [tenant_id, *row],
        )
        stored += await cur.fetchall()
    return stored


async def events(
    conn: AsyncConnection, series_id: uuid.UUID | None, start_ns: int, end_ns: int, limit: int
) -> list[tuple]:
    cur = await conn.execute(
        _SELECT_EVENTS,
        [start_ns, end_ns, series_id, series_id, limit],
    )
    return list(await cur.fetchall())
