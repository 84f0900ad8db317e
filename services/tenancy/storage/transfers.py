"""Moves of a tenant from one supplier to another."""

from __future__ import annotations

import uuid

from psycopg import AsyncConnection

from services.tenancy.storage import unique_as_duplicate


async def insert(
    conn: AsyncConnection,
    tenant_id: uuid.UUID,
    transfer_id: uuid.UUID,
    from_supplier: uuid.UUID | None,
    to_supplier: uuid.UUID,
    requested_by: str,
) -> None:
    with unique_as_duplicate("this tenant already has an open transfer request"):
        await conn.execute(
            "INSERT INTO tenancy.supplier_transfers (tenant_id, id, from_supplier, to_supplier, requested_by)"
            " VALUES (%s, %s, %s, %s, %s)",
            [tenant_id, transfer_id, from_supplier, to_supplier, requested_by],
        )


async def find_open(
    conn: AsyncConnection, transfer_id: uuid.UUID
) -> tuple[uuid.UUID, uuid.UUID | None, uuid.UUID] | None:
    """(tenant, from supplier, to supplier) of an open transfer the caller may see."""
    cur = await conn.execute(
        "SELECT tenant_id, from_supplier, to_supplier FROM tenancy.supplier_transfers"
        " WHERE id = %s AND accepted_at IS NULL",
        [transfer_id],
    )
    return await cur.fetchone()


async def accept(
    conn: AsyncConnection, transfer_id: uuid.UUID, tenant_id: uuid.UUID, to_supplier: uuid.UUID
) -> bool:
    """Mark the transfer accepted and move the tenant, once."""
    cur = await conn.execute(
        "UPDATE tenancy.supplier_transfers SET accepted_at = now() WHERE id = %s AND accepted_at IS NULL",
        [transfer_id],
    )
    if cur.rowcount != 1:
        return False
    await conn.execute("UPDATE tenancy.tenants SET supplier_id = %s WHERE id = %s", [to_supplier, tenant_id])
    return True
