"""After-service tickets and their history; and the tenant's recent alarms, for a ticket's snapshot.

Row-level security shows a ticket to its tenant (app.tenant_id) and to the supplier it is addressed to
while the tenant is still that supplier's (app.supplier_id); its events go with it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import asdict

from psycopg import AsyncConnection
from psycopg.rows import class_row

from services.tenancy.support_models import AlarmDiagnosis, Snapshot, Ticket, TicketEvent

_TICKET = (
    "id, tenant_id, supplier_id, subject, body, status, opened_by, created_at, response_due_at,"
    " resolution_due_at, first_response_at, resolved_at, closed_at"
)


async def insert(
    conn: AsyncConnection,
    tenant_id: uuid.UUID,
    ticket_id: uuid.UUID,
    supplier_id: uuid.UUID,
    text: tuple[str, str],
    opened_by: str,
    snapshot: Snapshot,
    service_hours: tuple[int | None, int | None],
) -> Ticket:
    """The new open ticket, due at now() plus the plan's response and resolution hours (none if unset)."""
    cur = conn.cursor(row_factory=class_row(Ticket))
    await cur.execute(
        "INSERT INTO tenancy.tickets (tenant_id, id, supplier_id, subject, body, status, opened_by, snapshot,"  # noqa: S608 (a constant column list)
        " response_due_at, resolution_due_at) VALUES (%s, %s, %s, %s, %s, 'open', %s, %s,"
        " now() + make_interval(hours => %s), now() + make_interval(hours => %s))"
        f" RETURNING {_TICKET}",
        [tenant_id, ticket_id, supplier_id, *text, opened_by, json.dumps(asdict(snapshot)), *service_hours],
    )
    return await cur.fetchone()


async def get(conn: AsyncConnection, ticket_id: uuid.UUID) -> tuple[Ticket, Snapshot] | None:
    sql = f"SELECT {_TICKET}, snapshot FROM tenancy.tickets WHERE id = %s"  # noqa: S608 (a constant column list)
    cur = await conn.execute(sql, [ticket_id])
    row = await cur.fetchone()
    return (Ticket(*row[:-1]), Snapshot.from_json(row[-1])) if row else None


async def list_visible(
    conn: AsyncConnection, statuses: Sequence[str], after: tuple, limit: int
) -> list[Ticket]:
    """The tickets row-level security shows the caller, newest first, below the (created_at, id) key
    ``after`` (Nones: from the newest)."""
    cur = conn.cursor(row_factory=class_row(Ticket))
    await cur.execute(
        f"SELECT {_TICKET} FROM tenancy.tickets"  # noqa: S608 (a constant column list)
        " WHERE (cardinality(%(statuses)s::text[]) = 0 OR status = ANY(%(statuses)s))"
        " AND (%(at)s::timestamptz IS NULL OR (created_at, id) < (%(at)s, %(id)s::uuid))"
        " ORDER BY created_at DESC, id DESC LIMIT %(limit)s",
        {"statuses": list(statuses), "at": after[0], "id": after[1], "limit": limit},
    )
    return await cur.fetchall()


async def move(conn: AsyncConnection, ticket: Ticket, status: str) -> Ticket:
    """Set the status; resolving stamps resolved_at (reopening clears it), closing stamps closed_at."""
    cur = conn.cursor(row_factory=class_row(Ticket))
    await cur.execute(
        "UPDATE tenancy.tickets SET status = %(status)s, updated_at = now(),"  # noqa: S608 (a constant column list)
        " resolved_at = CASE WHEN %(status)s = 'resolved' THEN now()"
        "   WHEN %(status)s = 'closed' THEN resolved_at END,"
        " closed_at = CASE WHEN %(status)s = 'closed' THEN now() END"
        f" WHERE tenant_id = %(tenant)s AND id = %(id)s RETURNING {_TICKET}",
        {"status": status, "tenant": ticket.tenant_id, "id": ticket.id},
    )
    return await cur.fetchone()


async def mark_responded(conn: AsyncConnection, ticket: Ticket) -> Ticket:
    """The supplier's first answer, once."""
    cur = conn.cursor(row_factory=class_row(Ticket))
    await cur.execute(
        "UPDATE tenancy.tickets SET first_response_at = coalesce(first_response_at, now()), updated_at = now()"  # noqa: S608 (a constant column list)
        f" WHERE tenant_id = %s AND id = %s RETURNING {_TICKET}",
        [ticket.tenant_id, ticket.id],
    )
    return await cur.fetchone()


async def add_event(
    conn: AsyncConnection,
    ticket: Ticket,
    actor: str,
    side: str,
    kind: str,
    body: str = "",
    moved: tuple[str, str] | None = None,
) -> None:
    from_status, to_status = moved or (None, None)
    await conn.execute(
        "INSERT INTO tenancy.ticket_events (tenant_id, ticket_id, actor, side, kind, body, from_status, to_status)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        [ticket.tenant_id, ticket.id, actor, side, kind, body, from_status, to_status],
    )


async def events(conn: AsyncConnection, ticket: Ticket) -> list[TicketEvent]:
    cur = conn.cursor(row_factory=class_row(TicketEvent))
    await cur.execute(
        "SELECT at, actor, side, kind, body, from_status, to_status FROM tenancy.ticket_events"
        " WHERE tenant_id = %s AND ticket_id = %s ORDER BY id",
        [ticket.tenant_id, ticket.id],
    )
    return await cur.fetchall()


async def recent_alarms(conn: AsyncConnection, since_ns: int, limit: int) -> list[AlarmDiagnosis]:
    """The tenant's alarms raised since ``since_ns``, newest first."""
    cur = await conn.execute(
        "SELECT id::text, rule_name, kind, severity, state, raised_ns FROM tenancy.alarms"
        " WHERE raised_ns >= %s ORDER BY raised_ns DESC, id LIMIT %s",
        [since_ns, limit],
    )
    return [AlarmDiagnosis(*row) for row in await cur.fetchall()]
