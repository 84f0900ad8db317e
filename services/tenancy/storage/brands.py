"""Suppliers' brands (any transaction may read them; a supplier writes its own under app.supplier_id)."""

from __future__ import annotations

import uuid

from psycopg import AsyncConnection
from psycopg.errors import UniqueViolation

from services.runtime.errors import AlreadyExists, FieldViolation
from services.tenancy.brand_models import Brand

_BRAND = (
    "SELECT supplier_id, product_name, primary_colour, accent_colour, domain, logo, logo_type,"
    " updated_at FROM tenancy.supplier_brands"
)


async def of_supplier(conn: AsyncConnection, supplier_id: uuid.UUID) -> Brand | None:
    cur = await conn.execute(f"{_BRAND} WHERE supplier_id = %s", [supplier_id])
    row = await cur.fetchone()
    return Brand(*row) if row else None


async def of_domain(conn: AsyncConnection, domain: str) -> Brand | None:
    cur = await conn.execute(f"{_BRAND} WHERE domain = %s", [domain])
    row = await cur.fetchone()
    return Brand(*row) if row else None


async def of_tenant(conn: AsyncConnection, tenant_id: uuid.UUID) -> Brand | None:
    """The brand of the tenant's supplier; needs a transaction that may read the tenant."""
    cur = await conn.execute("SELECT supplier_id FROM tenancy.tenants WHERE id = %s", [tenant_id])
    row = await cur.fetchone()
    return await of_supplier(conn, row[0]) if row and row[0] else None


async def of_user(conn: AsyncConnection, user_id: uuid.UUID) -> Brand | None:
    """The brand a person knows the platform by: their first tenant's supplier's (by tenant name), else
    their own supplier's; needs app.user_id."""
    cur = await conn.execute(
        "SELECT t.supplier_id FROM tenancy.memberships m JOIN tenancy.tenants t ON t.id = m.tenant_id"
        " WHERE m.user_id = %s ORDER BY t.name, t.id LIMIT 1",
        [user_id],
    )
    row = await cur.fetchone()
    if row is None:
        cur = await conn.execute(
            "SELECT supplier_id FROM tenancy.supplier_members WHERE user_id = %s ORDER BY supplier_id LIMIT 1",
            [user_id],
        )
        row = await cur.fetchone()
    return await of_supplier(conn, row[0]) if row and row[0] else None


async def upsert(conn: AsyncConnection, brand: Brand, keep_logo: bool, by: str) -> None:
    """Save the brand; ``keep_logo`` leaves the stored logo as it was. A domain another supplier
    already serves is refused."""
    try:
        await conn.execute(
            "INSERT INTO tenancy.supplier_brands (supplier_id, product_name, primary_colour, accent_colour,"
            " domain, logo, logo_type, updated_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (supplier_id) DO UPDATE SET product_name = excluded.product_name,"
            " primary_colour = excluded.primary_colour, accent_colour = excluded.accent_colour,"
            " domain = excluded.domain,"
            " logo = CASE WHEN %s THEN tenancy.supplier_brands.logo ELSE excluded.logo END,"
            " logo_type = CASE WHEN %s THEN tenancy.supplier_brands.logo_type ELSE excluded.logo_type END,"
            " updated_at = now(), updated_by = excluded.updated_by",
            [
                brand.supplier_id,
                brand.product_name,
                brand.primary_colour,
                brand.accent_colour,
                brand.domain,
                brand.logo,
                brand.logo_type,
                by,
                keep_logo,
                keep_logo,
            ],
        )
    except UniqueViolation as exc:
        taken = f"{brand.domain} is already another supplier's domain"
        raise AlreadyExists(
            taken, reason="DOMAIN_TAKEN", violations=(FieldViolation("domain", taken),)
        ) from exc
