"""Usage per tenant per day."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from psycopg import AsyncConnection, errors

from services.runtime.errors import NotFound


@contextmanager
def _known_tenant() -> Iterator[None]:
    """Usage of a tenant that no longer exists (purged) is refused as NOT_FOUND, so reporters drop it."""
    try:
        yield
    except errors.ForeignKeyViolation:
        raise NotFound("tenant not found", reason="TENANT_NOT_FOUND") from None


async def set_metered(
    conn: AsyncConnection, tenant_id: uuid.UUID, day: date, points: int, stored: int, devices: int
) -> None:
    """Absolute daily totals from ingest: setting (not adding) makes repeated reports harmless."""
    with _known_tenant():
        await _set_metered(conn, tenant_id, day, points, stored, devices)


async def _set_metered(
    conn: AsyncConnection, tenant_id: uuid.UUID, day: date, points: int, stored: int, devices: int
) -> None:
    await conn.execute(
        "INSERT INTO tenancy.usage_daily AS u (tenant_id, day, points, bytes_stored, active_devices)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (tenant_id, day) DO UPDATE SET"
        " points = greatest(u.points, excluded.points), bytes_stored = excluded.bytes_stored,"
        " active_devices = greatest(u.active_devices, excluded.active_devices)",
        [tenant_id, day, points, stored, devices],
    )


async def add_api_calls(conn: AsyncConnection, tenant_id: uuid.UUID, day: date, calls: int) -> None:
    with _known_tenant():
        await conn.execute(
            "INSERT INTO tenancy.usage_daily AS u (tenant_id, day, api_calls) VALUES (%s, %s, %s)"
            " ON CONFLICT (tenant_id, day) DO UPDATE SET api_calls = u.api_calls + excluded.api_calls",
            [tenant_id, day, calls],
        )


async def daily(conn: AsyncConnection, first: date, last: date) -> list[tuple]:
    """(tenant, day, points, bytes stored, active devices, API calls) the caller may see, by tenant and day."""
    cur = await conn.execute(
        "SELECT tenant_id, day, points, bytes_stored, active_devices, api_calls FROM tenancy.usage_daily"
        " WHERE day BETWEEN %s AND %s ORDER BY tenant_id, day",
        [first, last],
    )
    return await cur.fetchall()


async def billing_rows(conn: AsyncConnection, first: date, last: date) -> list[tuple]:
    """Per visible tenant: name, plan, monthly price, state and the month's usage (zero when none)."""
    cur = await conn.execute(
        "SELECT t.id, t.name, s.plan_code, p.name, s.state, coalesce(sum(u.points), 0)::bigint,"
        " coalesce(max(u.bytes_stored), 0), coalesce(max(u.active_devices), 0), coalesce(sum(u.api_calls), 0)::bigint"
        " FROM tenancy.tenants t JOIN tenancy.subscriptions s ON s.tenant_id = t.id"
        " JOIN tenancy.plans p ON p.code = s.plan_code"
        " LEFT JOIN tenancy.usage_daily u ON u.tenant_id = t.id AND u.day BETWEEN %s AND %s"
        " GROUP BY t.id, t.name, s.plan_code, p.name, s.state ORDER BY t.name, t.id",
        [first, last],
    )
    return await cur.fetchall()
