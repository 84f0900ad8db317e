"""Moves of a tenant from one supplier to another, asked by the tenant and accepted or declined by the
supplier asked (the directory's supplier requests are these)."""

from __future__ import annotations

import uuid

from psycopg import AsyncConnection
from psycopg.rows import class_row

from services.tenancy.storage import unique_as_duplicate
from services.tenancy.support_models import Transfer

_OPEN = "accepted_at IS NULL AND declined_at IS NULL"


async def insert(
    conn: AsyncConnection,
    tenant_id: uuid.UUID,
    transfer_id: uuid.UUID,
    moves: tuple[uuid.UUID | None, uuid.UUID],
    requested_by: str,
    tenant_name: str,
    message: str,
) -> None:
    """A request to move the tenant from ``moves[0]`` (None: no supplier) to ``moves[1]``."""
    with unique_as_duplicate("this tenant already has an open request to a supplier"):
        await conn.execute(
            "INSERT INTO tenancy.supplier_transfers (tenant_id, id, from_supplier, to_supplier, requested_by,"
            " tenant_name, message) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [tenant_id, transfer_id, *moves, requested_by, tenant_name, message],
        )


async def find_open(
    conn: AsyncConnection, transfer_id: uuid.UUID
) -> tuple[uuid.UUID, uuid.UUID | None, uuid.UUID] | None:
    """(tenant, from supplier, to supplier) of an open transfer the caller may see."""
    cur = await conn.execute(
        f"SELECT tenant_id, from_supplier, to_supplier FROM tenancy.supplier_transfers WHERE id = %s AND {_OPEN}",  # noqa: S608 (constant)
        [transfer_id],
    )
    return await cur.fetchone()


async def accept(
    conn: AsyncConnection, transfer_id: uuid.UUID, tenant_id: uuid.UUID, to_supplier: uuid.UUID, actor: str
) -> bool:
    """Mark the transfer accepted and move the tenant, once."""
    cur = await conn.execute(
        f"UPDATE tenancy.supplier_transfers SET accepted_at = now(), decided_by = %s WHERE id = %s AND {_OPEN}",  # noqa: S608 (constant)
        [actor, transfer_id],
    )
    if cur.rowcount != 1:
        return False
    await conn.execute("UPDATE tenancy.tenants SET supplier_id = %s WHERE id = %s", [to_supplier, tenant_id])
    return True


async def decline(conn: AsyncConnection, transfer_id: uuid.UUID, actor: str, note: str) -> bool:
    cur = await conn.execute(
        "UPDATE tenancy.supplier_transfers SET declined_at = now(), decided_by = %s, decision_note = %s"  # noqa: S608 (constant)
        f" WHERE id = %s AND {_OPEN}",
        [actor, note, transfer_id],
    )
    return cur.rowcount == 1


async def list_visible(conn: AsyncConnection, after: tuple, limit: int) -> list[Transfer]:
    """The transfers row-level security shows the caller (its tenant's; to or from its supplier), newest
    first, below the (requested_at, id) key ``after`` (Nones: from the newest)."""
    cur = conn.cursor(row_factory=class_row(Transfer))
    await cur.execute(
        "SELECT r.id, r.tenant_id, r.tenant_name, r.from_supplier, r.to_supplier, s.name AS to_supplier_name,"
        " r.message, r.requested_at, r.accepted_at, r.declined_at, r.decision_note"
        " FROM tenancy.supplier_transfers r JOIN tenancy.suppliers s ON s.id = r.to_supplier"
        " WHERE (%(at)s::timestamptz IS NULL OR (r.requested_at, r.id) < (%(at)s, %(id)s::uuid))"
        " ORDER BY r.requested_at DESC, r.id DESC LIMIT %(limit)s",
        {"at": after[0], "id": after[1], "limit": limit},
    )
    return await cur.fetchall()
