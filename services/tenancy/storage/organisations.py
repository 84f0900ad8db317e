"""Plans, suppliers, tenants and their subscriptions."""

from __future__ import annotations

import json
import uuid

from psycopg import AsyncConnection
from psycopg.rows import class_row

from services.tenancy.models import Plan, Supplier, Tenant
from services.tenancy.storage import unique_as_duplicate

_TENANT = (
    "SELECT t.id, t.name, t.slug, s.plan_code, t.supplier_id, s.state, t.template, t.cell"
    " FROM tenancy.tenants t JOIN tenancy.subscriptions s ON s.tenant_id = t.id"
)
_SUPPLIER = "SELECT id, slug, name, description, website, contact_email FROM tenancy.suppliers"


async def upsert_plan(conn: AsyncConnection, plan: Plan) -> None:
    await conn.execute(
        "INSERT INTO tenancy.plans (code, name, quotas, features) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (code) DO UPDATE SET name = excluded.name, quotas = excluded.quotas,"
        " features = excluded.features",
        [plan.code, plan.name, json.dumps(plan.quotas), json.dumps(plan.features)],
    )


async def get_plan(conn: AsyncConnection, code: str) -> Plan | None:
    cur = conn.cursor(row_factory=class_row(Plan))
    await cur.execute("SELECT code, name, quotas, features FROM tenancy.plans WHERE code = %s", [code])
    return await cur.fetchone()


_INSERT_SUPPLIER = (
    "INSERT INTO tenancy.suppliers (id, slug, name, description, website, contact_email)"
    " VALUES (%s, %s, %s, %s, %s, %s)"
)


def _supplier_row(s: Supplier) -> list:
    return [s.id, s.slug, s.name, s.description, s.website, s.contact_email]


async def upsert_supplier(conn: AsyncConnection, supplier: Supplier) -> uuid.UUID:
    """The supplier with this slug (catalog loading): made if missing, renamed if changed."""
    sql = f"{_INSERT_SUPPLIER} ON CONFLICT (slug) DO UPDATE SET name = excluded.name RETURNING id"
    cur = await conn.execute(sql, _supplier_row(supplier))
    return (await cur.fetchone())[0]


async def insert_supplier(conn: AsyncConnection, supplier: Supplier) -> None:
    with unique_as_duplicate("a supplier with this name already exists"):
        await conn.execute(_INSERT_SUPPLIER, _supplier_row(supplier))


async def get_supplier(conn: AsyncConnection, supplier_id: uuid.UUID) -> Supplier | None:
    cur = conn.cursor(row_factory=class_row(Supplier))
    await cur.execute(f"{_SUPPLIER} WHERE id = %s", [supplier_id])
    return await cur.fetchone()


async def add_supplier_member(
    conn: AsyncConnection, supplier_id: uuid.UUID, user_id: uuid.UUID, role: str
) -> None:
    await conn.execute(
        "INSERT INTO tenancy.supplier_members (supplier_id, user_id, role) VALUES (%s, %s, %s)"
        " ON CONFLICT (supplier_id, user_id) DO UPDATE SET role = excluded.role",
        [supplier_id, user_id, role],
    )


async def supplier_memberships_of(conn: AsyncConnection, user_id: uuid.UUID) -> list[tuple[Supplier, str]]:
    """Needs a transaction with app.user_id set to ``user_id``."""
    cur = await conn.execute(
        "SELECT s.id, s.slug, s.name, s.description, s.website, s.contact_email, m.role"
        " FROM tenancy.supplier_members m JOIN tenancy.suppliers s ON s.id = m.supplier_id"
        " WHERE m.user_id = %s ORDER BY s.name",
        [user_id],
    )
    return [(Supplier(*row[:6]), row[6]) for row in await cur.fetchall()]


async def supplier_role(conn: AsyncConnection, supplier_id: uuid.UUID, user_id: uuid.UUID) -> str | None:
    """The user's role in the supplier ('admin' or 'staff'), None for a stranger; needs app.supplier_id."""
    cur = await conn.execute(
        "SELECT role FROM tenancy.supplier_members WHERE supplier_id = %s AND user_id = %s",
        [supplier_id, user_id],
    )
    row = await cur.fetchone()
    return row[0] if row else None


async def supplier_staff(
    conn: AsyncConnection, supplier_id: uuid.UUID, after_email: str | None, limit: int
) -> list[tuple[uuid.UUID, str, str, str]]:
    """(user, email, display name, role) of the supplier's staff by email, after ``after_email`` (lower
    case); row-level security shows the members of the supplier in app.supplier_id."""
    cur = await conn.execute(
        "SELECT u.id, u.email, u.display_name, m.role FROM tenancy.supplier_members m"
        " JOIN tenancy.users u ON u.id = m.user_id"
        " WHERE m.supplier_id = %s AND (%s::text IS NULL OR lower(u.email) > %s)"
        " ORDER BY lower(u.email) LIMIT %s",
        [supplier_id, after_email, after_email, limit],
    )
    return await cur.fetchall()


async def insert_tenant(
    conn: AsyncConnection, tenant: Tenant, trial_days: int | None, kpi_targets: dict | None = None
) -> None:
    """The tenant and its subscription (in trial for ``trial_days``, else active)."""
    with unique_as_duplicate("a tenant with this name already exists"):
        await conn.execute(
            "INSERT INTO tenancy.tenants (id, supplier_id, name, slug, template, kpi_targets, cell)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [
                tenant.id,
                tenant.supplier_id,
                tenant.name,
                tenant.slug,
                tenant.template,
                json.dumps(kpi_targets or {}),
                tenant.cell,
            ],
        )
    await conn.execute(
        "INSERT INTO tenancy.subscriptions (tenant_id, plan_code, state, trial_ends_at)"
        " VALUES (%s, %s, %s, now() + make_interval(days => %s))",
        [tenant.id, tenant.plan_code, "trial" if trial_days else "active", trial_days or 0],
    )


async def tenant_exists(conn: AsyncConnection, tenant_id: uuid.UUID) -> bool:
    cur = await conn.execute("SELECT 1 FROM tenancy.tenants WHERE id = %s", [tenant_id])
    return await cur.fetchone() is not None


async def get_tenant(conn: AsyncConnection, tenant_id: uuid.UUID) -> Tenant | None:
    cur = conn.cursor(row_factory=class_row(Tenant))
    await cur.execute(f"{_TENANT} WHERE t.id = %s", [tenant_id])
    return await cur.fetchone()


async def list_tenants(
    conn: AsyncConnection, supplier_id: uuid.UUID | None, after: tuple[str, str] | None, limit: int
) -> list[Tenant]:
    """Tenants by name, a page after ``after`` (name, id); those row-level security lets the caller see."""
    cur = conn.cursor(row_factory=class_row(Tenant))
    after_name, after_id = after or ("", "00000000-0000-0000-0000-000000000000")
    await cur.execute(
        f"{_TENANT} WHERE (%(supplier)s::uuid IS NULL OR t.supplier_id = %(supplier)s)"
        " AND (t.name, t.id) > (%(name)s, %(id)s::uuid) ORDER BY t.name, t.id LIMIT %(limit)s",
        {"supplier": supplier_id, "name": after_name, "id": after_id, "limit": limit},
    )
    return await cur.fetchall()


async def set_plan(conn: AsyncConnection, tenant_id: uuid.UUID, plan_code: str) -> None:
    await conn.execute(
        "UPDATE tenancy.subscriptions SET plan_code = %s WHERE tenant_id = %s", [plan_code, tenant_id]
    )


async def set_state(
    conn: AsyncConnection, tenant_id: uuid.UUID, state: str, purge_after_days: int | None
) -> None:
    await conn.execute(
        "UPDATE tenancy.subscriptions SET state = %s, state_changed_at = now(),"
        " purge_after = CASE WHEN %s::int IS NULL THEN NULL ELSE now() + make_interval(days => %s) END"
        " WHERE tenant_id = %s",
        [state, purge_after_days, purge_after_days or 0, tenant_id],
    )


async def usage_counts(conn: AsyncConnection) -> dict[str, int]:
    """What the tenant in context has of each quota-limited thing."""
    cur = await conn.execute(
        "SELECT (SELECT count(*) FROM tenancy.devices WHERE revoked_at IS NULL),"
        " (SELECT count(*) FROM tenancy.series), (SELECT count(*) FROM tenancy.memberships),"
        " (SELECT count(*) FROM tenancy.api_keys WHERE revoked_at IS NULL)"
    )
    devices, series, users, api_keys = await cur.fetchone()
    return {"devices": devices, "series": series, "users": users, "api_keys": api_keys}


async def due_for_purge(conn: AsyncConnection) -> list[tuple[uuid.UUID, str]]:
    """(tenant, cell) of cancelled tenants whose grace period is over; needs the operator's view."""
    cur = await conn.execute(
        "SELECT t.id, t.cell FROM tenancy.tenants t JOIN tenancy.subscriptions s ON s.tenant_id = t.id"
        " WHERE s.state = 'cancelled' AND s.purge_after <= now() ORDER BY s.purge_after"
    )
    return await cur.fetchall()


async def delete_tenant(conn: AsyncConnection, tenant_id: uuid.UUID) -> list[uuid.UUID]:
    """Delete the tenant and everything of it (foreign keys cascade), its audit trail, and the accounts
    that belonged to it alone; returns those accounts. Needs app.tenant_id and app.purging set to it."""
    cur = await conn.execute(
        "SELECT m.user_id FROM tenancy.memberships m WHERE m.tenant_id = %s"
        " AND NOT EXISTS (SELECT 1 FROM tenancy.memberships o WHERE o.user_id = m.user_id AND o.tenant_id <> m.tenant_id)"
        " AND NOT EXISTS (SELECT 1 FROM tenancy.supplier_members s WHERE s.user_id = m.user_id)",
        [tenant_id],
    )
    lone_users = [row[0] for row in await cur.fetchall()]
    await conn.execute("DELETE FROM tenancy.audit_log WHERE tenant_id = %s", [tenant_id])
    await conn.execute("DELETE FROM tenancy.tenants WHERE id = %s", [tenant_id])
    await conn.execute("DELETE FROM tenancy.users WHERE id = ANY(%s) AND NOT platform_operator", [lone_users])
    return lone_users
