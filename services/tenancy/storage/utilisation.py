"""SQL of the utilisation report: tenants and their subscriptions (as the operator), one tenant's month of
control-plane facts (scoped to that tenant), the operator's reviews of flags, and live tenants' latest
levels."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from psycopg import AsyncConnection
from psycopg.rows import class_row

from services.tenancy.models import INGEST_STATES
from services.tenancy.programme_models import FEATURE_ACTIONS, ReportedTenant, Review


async def tenants(
    conn: AsyncConnection, created_before: datetime, only: uuid.UUID | None, after: tuple, limit: int
) -> list[ReportedTenant]:
    """Tenants that existed before ``created_before`` (all of them, or ``only``) by name, then id: up to
    ``limit`` past the (name, id) key ``after`` (Nones: from the first), as the operator's tenant list."""
    cur = conn.cursor(row_factory=class_row(ReportedTenant))
    await cur.execute(
        "SELECT t.id, t.name, t.supplier_id, s.plan_code AS plan, s.state, s.subsidised, t.cell"
        " FROM tenancy.tenants t JOIN tenancy.subscriptions s ON s.tenant_id = t.id"
        " WHERE t.created_at < %(before)s AND (%(only)s::uuid IS NULL OR t.id = %(only)s)"
        " AND (%(name)s::text IS NULL OR (t.name, t.id) > (%(name)s, %(id)s::uuid))"
        " ORDER BY t.name, t.id LIMIT %(limit)s",
        {"only": only, "before": created_before, "name": after[0], "id": after[1], "limit": limit},
    )
    return await cur.fetchall()


async def registered_devices(conn: AsyncConnection, start: datetime, end: datetime) -> set[str]:
    """Ids of the tenant's devices registered at some time in ``[start, end)``."""
    cur = await conn.execute(
        "SELECT id FROM tenancy.devices WHERE created_at < %s AND (revoked_at IS NULL OR revoked_at >= %s)",
        [end, start],
    )
    return {str(row[0]) for row in await cur.fetchall()}


async def logins(
    conn: AsyncConnection, tenant_id: uuid.UUID, start: datetime, end: datetime
) -> tuple[int, int]:
    """(successful sign-ins into the tenant, people who made them) in ``[start, end)``, from the audit log."""
    cur = await conn.execute(
        "SELECT count(*), count(DISTINCT target) FROM tenancy.audit_log"
        " WHERE tenant_id = %s AND action = 'login' AND outcome = 'ok' AND at >= %s AND at < %s",
        [tenant_id, start, end],
    )
    return tuple(await cur.fetchone())


async def features(
    conn: AsyncConnection, tenant_id: uuid.UUID, start: datetime, end: datetime, first: date, last: date
) -> dict[str, int]:
    """How often each feature was used: API calls from the daily usage, the rest from audited actions."""
    counts = dict.fromkeys(["api_calls", *FEATURE_ACTIONS], 0)
    cur = await conn.execute(
        "SELECT coalesce(sum(api_calls), 0)::bigint FROM tenancy.usage_daily WHERE day BETWEEN %s AND %s",
        [first, last],
    )
    counts["api_calls"] = (await cur.fetchone())[0]
    feature_of = {action: name for name, actions in FEATURE_ACTIONS.items() for action in actions}
    cur = await conn.execute(
        "SELECT action, count(*) FROM tenancy.audit_log WHERE tenant_id = %s AND action = ANY(%s)"
        " AND outcome = 'ok' AND at >= %s AND at < %s GROUP BY action",
        [tenant_id, list(feature_of), start, end],
    )
    for action, count in await cur.fetchall():
        counts[feature_of[action]] += count
    return counts


async def levels(conn: AsyncConnection, first: date, last: date) -> tuple[tuple[date, int], ...]:
    cur = await conn.execute(
        "SELECT day, level FROM tenancy.tenant_levels WHERE day BETWEEN %s AND %s ORDER BY day", [first, last]
    )
    return tuple(await cur.fetchall())


async def latest_levels(conn: AsyncConnection) -> list[tuple[uuid.UUID | None, int | None, int]]:
    """(supplier, latest level or None when never assessed, tenants) over live tenants (as the operator)."""
    cur = await conn.execute(
        "SELECT t.supplier_id, latest.level, count(*) FROM tenancy.tenants t"
        " JOIN tenancy.subscriptions s ON s.tenant_id = t.id"
        " LEFT JOIN LATERAL (SELECT l.level FROM tenancy.tenant_levels l WHERE l.tenant_id = t.id"
        "   ORDER BY l.day DESC LIMIT 1) latest ON true"
        " WHERE s.state = ANY(%s) GROUP BY t.supplier_id, latest.level",
        [list(INGEST_STATES)],
    )
    return await cur.fetchall()


async def reviews(
    conn: AsyncConnection, month: date, tenant_ids: list[uuid.UUID]
) -> dict[tuple[uuid.UUID, str], Review]:
    """The operator's reviews of the month's flags of these tenants, by (tenant, rule)."""
    cur = await conn.execute(
        "SELECT tenant_id, rule, note, reviewed_by, reviewed_at FROM tenancy.utilisation_reviews"
        " WHERE month = %s AND tenant_id = ANY(%s)",
        [month, tenant_ids],
    )
    return {(tenant, rule): Review(*rest) for tenant, rule, *rest in await cur.fetchall()}


async def put_review(
    conn: AsyncConnection, tenant_id: uuid.UUID, month: date, rule: str, note: str, actor: str
) -> Review:
    """Record (or replace) the review of one flag."""
    cur = await conn.execute(
        "INSERT INTO tenancy.utilisation_reviews (tenant_id, month, rule, note, reviewed_by) VALUES (%s, %s, %s, %s, %s)"
        " ON CONFLICT (tenant_id, month, rule) DO UPDATE SET note = excluded.note,"
        " reviewed_by = excluded.reviewed_by, reviewed_at = now() RETURNING note, reviewed_by, reviewed_at",
        [tenant_id, month, rule, note, actor],
    )
    return Review(*await cur.fetchone())


async def set_subsidised(conn: AsyncConnection, tenant_id: uuid.UUID, subsidised: bool) -> bool:
    """Whether the tenant's subscription was found (and changed)."""
    cur = await conn.execute(
        "UPDATE tenancy.subscriptions SET subsidised = %s WHERE tenant_id = %s", [subsidised, tenant_id]
    )
    return cur.rowcount == 1
