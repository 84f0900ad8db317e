"""Invitations (into a tenant or onto a supplier's staff) and password resets."""

from __future__ import annotations

import uuid
from datetime import datetime

from psycopg import AsyncConnection, sql

from services.tenancy.models import Joined


async def tenant_name(conn: AsyncConnection, tenant_id: uuid.UUID) -> str:
    cur = await conn.execute("SELECT name FROM tenancy.tenants WHERE id = %s", [tenant_id])
    return (await cur.fetchone())[0]


async def insert(
    conn: AsyncConnection,
    to: Joined,
    invitation_id: uuid.UUID,
    email: str,
    role: str,
    hashed: bytes,
    invited_by: str,
    expires_at: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO tenancy.invitations"
        " (tenant_id, supplier_id, id, email, role, token_hash, invited_by, expires_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        [to.tenant_id, to.supplier_id, invitation_id, email, role, hashed, invited_by, expires_at],
    )


async def open_of(
    conn: AsyncConnection, to: Joined, limit: int
) -> list[tuple[uuid.UUID, str, str, str, datetime, datetime]]:
    """(id, email, role, invited by, created, expires) of the invitations into the tenant, or onto the
    supplier's staff, not yet used nor expired, newest first."""
    owner = sql.Identifier("supplier_id" if to.supplier_id is not None else "tenant_id")
    cur = await conn.execute(
        sql.SQL(
            "SELECT id, email, role, invited_by, created_at, expires_at FROM tenancy.invitations"
            " WHERE {} = %s AND accepted_at IS NULL AND expires_at > now()"
            " ORDER BY created_at DESC, id LIMIT %s"
        ).format(owner),
        [to.supplier_id or to.tenant_id, limit],
    )
    return await cur.fetchall()


async def find_open(conn: AsyncConnection, hashed: bytes) -> tuple[Joined, str, str] | None:
    """(where to, email, role) of an invitation not yet used nor expired; needs app.invitation."""
    cur = await conn.execute(
        "SELECT tenant_id, supplier_id, email, role FROM tenancy.invitations"
        " WHERE token_hash = %s AND accepted_at IS NULL AND expires_at > now()",
        [hashed],
    )
    row = await cur.fetchone()
    return (Joined(row[0], row[1]), row[2], row[3]) if row else None


async def mark_accepted(conn: AsyncConnection, hashed: bytes) -> bool:
    cur = await conn.execute(
        "UPDATE tenancy.invitations SET accepted_at = now()"
        " WHERE token_hash = %s AND accepted_at IS NULL AND expires_at > now()",
        [hashed],
    )
    return cur.rowcount == 1


async def insert_reset(
    conn: AsyncConnection, hashed: bytes, user_id: uuid.UUID, expires_at: datetime
) -> None:
    await conn.execute(
        "INSERT INTO tenancy.password_resets (token_hash, user_id, expires_at) VALUES (%s, %s, %s)",
        [hashed, user_id, expires_at],
    )


async def use_reset(conn: AsyncConnection, hashed: bytes) -> uuid.UUID | None:
    """The user of an open reset token, marking it used (single use)."""
    cur = await conn.execute(
        "UPDATE tenancy.password_resets SET used_at = now()"
        " WHERE token_hash = %s AND used_at IS NULL AND expires_at > now() RETURNING user_id",
        [hashed],
    )
    row = await cur.fetchone()
    return row[0] if row else None
