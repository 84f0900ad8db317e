"""The mail outbox's SQL: rows added in a change's transaction, claimed and finished by the sender (which
runs with `app.mail_sender`), and the recipients and names a mail needs, each read in the scope of the side
it belongs to."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from psycopg import AsyncConnection
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

SENDER = {"app.mail_sender": "on"}


@dataclass(frozen=True)
class Notice:
    """One email owed: what happened (``kind``, ``detail``) and who is told (``audience``)."""

    tenant_id: uuid.UUID
    supplier_id: uuid.UUID
    kind: str
    audience: str
    detail: dict
    opener: str | None = None


@dataclass(frozen=True)
class Pending:
    id: int
    tenant_id: uuid.UUID
    supplier_id: uuid.UUID
    kind: str
    audience: str
    opener: str | None
    detail: dict
    created_at: datetime
    attempts: int
    recipients: list[str] | None
    sent_to: list[str]


async def add(conn: AsyncConnection, notice: Notice) -> None:
    await conn.execute(
        "INSERT INTO tenancy.mail_outbox (tenant_id, supplier_id, kind, audience, opener, detail)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        [
            notice.tenant_id,
            notice.supplier_id,
            notice.kind,
            notice.audience,
            notice.opener,
            Jsonb(notice.detail),
        ],
    )


async def claim_due(conn: AsyncConnection, limit: int, lease_s: float) -> list[Pending]:
    """Rows due now, oldest first, each counted as attempted and hidden from other senders for
    ``lease_s`` (so a sender that stops mid-way leaves them to another, never to nobody)."""
    cur = conn.cursor(row_factory=class_row(Pending))
    await cur.execute(
        "UPDATE tenancy.mail_outbox o SET attempts = o.attempts + 1,"
        " next_attempt_at = now() + make_interval(secs => %s)"
        " WHERE o.id IN (SELECT id FROM tenancy.mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL"
        "   AND next_attempt_at <= now() ORDER BY next_attempt_at, id LIMIT %s FOR UPDATE SKIP LOCKED)"
        " RETURNING o.id, o.tenant_id, o.supplier_id, o.kind, o.audience, o.opener, o.detail, o.created_at,"
        " o.attempts, o.recipients, o.sent_to",
        [lease_s, limit],
    )
    return sorted(await cur.fetchall(), key=lambda p: p.id)


async def fix_recipients(conn: AsyncConnection, row_id: int, recipients: list[str], names: dict) -> None:
    """The addresses and names read at the first attempt: every retry uses these."""
    await conn.execute(
        "UPDATE tenancy.mail_outbox SET recipients = %s, detail = detail || %s WHERE id = %s",
        [recipients, Jsonb(names), row_id],
    )


async def mark_sent_to(conn: AsyncConnection, row_id: int, address: str) -> None:
    await conn.execute(
        "UPDATE tenancy.mail_outbox SET sent_to = array_append(sent_to, %s) WHERE id = %s", [address, row_id]
    )


async def finish(conn: AsyncConnection, row_id: int) -> None:
    await conn.execute(
        "UPDATE tenancy.mail_outbox SET sent_at = now(), last_error = '' WHERE id = %s", [row_id]
    )


async def retry_later(conn: AsyncConnection, row_id: int, delay_s: float, error: str) -> None:
    await conn.execute(
        "UPDATE tenancy.mail_outbox SET next_attempt_at = now() + make_interval(secs => %s), last_error = %s"
        " WHERE id = %s",
        [delay_s, error, row_id],
    )


async def give_up(conn: AsyncConnection, row_id: int, error: str) -> None:
    await conn.execute(
        "UPDATE tenancy.mail_outbox SET failed_at = now(), last_error = %s WHERE id = %s", [error, row_id]
    )


async def purge_sent(conn: AsyncConnection, keep_days: int) -> None:
    """Delivered rows are kept ``keep_days`` (to see what was sent), then deleted."""
    await conn.execute(
        "DELETE FROM tenancy.mail_outbox WHERE sent_at < now() - make_interval(days => %s)", [keep_days]
    )


async def supplier_staff(conn: AsyncConnection, supplier_id: uuid.UUID) -> tuple[str, list[str]]:
    """(the supplier's name, its staff's emails: admins and staff); needs app.supplier_id."""
    cur = await conn.execute("SELECT name FROM tenancy.suppliers WHERE id = %s", [supplier_id])
    name = await cur.fetchone()
    cur = await conn.execute(
        "SELECT u.email FROM tenancy.supplier_members m JOIN tenancy.users u ON u.id = m.user_id"
        " WHERE m.supplier_id = %s ORDER BY lower(u.email)",
        [supplier_id],
    )
    return (name[0] if name else ""), [row[0] for row in await cur.fetchall()]


async def tenant_people(
    conn: AsyncConnection, tenant_id: uuid.UUID, roles: tuple[str, ...], opener: str | None
) -> tuple[str, list[str]]:
    """(the tenant's name, the emails of its members with one of ``roles``, and of ``opener`` while it is a
    member); needs app.tenant_id."""
    cur = await conn.execute("SELECT name FROM tenancy.tenants WHERE id = %s", [tenant_id])
    name = await cur.fetchone()
    cur = await conn.execute(
        "SELECT DISTINCT u.email, lower(u.email) FROM tenancy.memberships m JOIN tenancy.users u ON u.id = m.user_id"
        " WHERE m.tenant_id = %s AND (m.role = ANY(%s) OR m.user_id::text = %s) ORDER BY lower(u.email)",
        [tenant_id, list(roles), opener or ""],
    )
    return (name[0] if name else ""), [row[0] for row in await cur.fetchall()]
