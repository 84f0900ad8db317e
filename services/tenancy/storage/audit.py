"""The append-only audit log."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

from psycopg import AsyncConnection
from psycopg.rows import class_row

from services.tenancy.models import AuditEvent


async def append(
    conn: AsyncConnection,
    *,
    tenant_id: uuid.UUID | None,
    supplier_id: uuid.UUID | None,
    actor: tuple[str, str],
    action: str,
    target: str,
    outcome: str,
    source: str,
    detail: dict,
) -> None:
    await conn.execute(
        "INSERT INTO tenancy.audit_log (tenant_id, supplier_id, actor_kind, actor_id, action, target, outcome,"
        " source, detail) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        [tenant_id, supplier_id, *actor, action, target, outcome, source, json.dumps(detail)],
    )


async def list_events(
    conn: AsyncConnection, tenant_id: uuid.UUID | None, before: int | None, since: datetime | None, limit: int
) -> list[AuditEvent]:
    """Newest first; those row-level security lets the caller see, optionally of one tenant."""
    cur = conn.cursor(row_factory=class_row(AuditEvent))
    await cur.execute(
        "SELECT id, tenant_id, at, actor_kind, actor_id, action, target, outcome, source, detail"
        " FROM tenancy.audit_log WHERE (%(tenant)s::uuid IS NULL OR tenant_id = %(tenant)s)"
        " AND (%(before)s::bigint IS NULL OR id < %(before)s) AND (%(since)s::timestamptz IS NULL OR at >= %(since)s)"
        " ORDER BY id DESC LIMIT %(limit)s",
        {"tenant": tenant_id, "before": before, "since": since, "limit": limit},
    )
    return await cur.fetchall()
