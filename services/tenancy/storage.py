"""All of the tenancy service's SQL. Every function runs inside a transaction the caller opened
(tenant-scoped or with the narrow lookup settings the row-level-security policies allow)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from psycopg import AsyncConnection, errors
from psycopg.rows import class_row, dict_row

from services.runtime.principal import Role
from services.tenancy.errors import DuplicateName
from services.tenancy.models import Asset, Device, Membership, Plan, Series, Tenant, User

_SERIES_COLUMNS = "id, machine_id, name, unit, kind, decimals"


@contextmanager
def _unique(message: str) -> Iterator[None]:
    """A unique violation becomes DuplicateName; PostgreSQL's DETAIL (the key) never leaves."""
    try:
        yield
    except errors.UniqueViolation:
        raise DuplicateName(message) from None


async def upsert_plan(conn: AsyncConnection, plan: Plan) -> None:
    await conn.execute(
        "INSERT INTO tenancy.plans (code, name, quotas, features) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (code) DO UPDATE SET name = excluded.name, quotas = excluded.quotas,"
        " features = excluded.features",
        [plan.code, plan.name, json.dumps(plan.quotas), json.dumps(plan.features)],
    )


async def plan_exists(conn: AsyncConnection, code: str) -> bool:
    cur = await conn.execute("SELECT 1 FROM tenancy.plans WHERE code = %s", [code])
    return await cur.fetchone() is not None


async def upsert_supplier(conn: AsyncConnection, slug: str, name: str) -> uuid.UUID:
    cur = await conn.execute(
        "INSERT INTO tenancy.suppliers (id, slug, name) VALUES (%s, %s, %s)"
        " ON CONFLICT (slug) DO UPDATE SET name = excluded.name RETURNING id",
        [uuid.uuid4(), slug, name],
    )
    return (await cur.fetchone())[0]


async def insert_tenant(conn: AsyncConnection, tenant: Tenant, supplier_id: uuid.UUID | None) -> None:
    with _unique("a tenant with this name already exists"):
        await conn.execute(
            "INSERT INTO tenancy.tenants (id, supplier_id, name, slug, plan_code) VALUES (%s, %s, %s, %s, %s)",
            [tenant.id, supplier_id, tenant.name, tenant.slug, tenant.plan_code],
        )


async def tenant_exists(conn: AsyncConnection, tenant_id: uuid.UUID) -> bool:
    cur = await conn.execute("SELECT 1 FROM tenancy.tenants WHERE id = %s", [tenant_id])
    return await cur.fetchone() is not None


async def find_user_by_email(conn: AsyncConnection, email: str) -> tuple[User, str] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT id, email, display_name, platform_operator, password_hash FROM tenancy.users"
        " WHERE lower(email) = lower(%s)",
        [email],
    )
    row = await cur.fetchone()
    if row is None:
        return None
    password_hash = row.pop("password_hash")
    return User(**row), password_hash


async def insert_user(conn: AsyncConnection, user: User, password_hash: str) -> None:
    with _unique("a user with this email already exists"):
        await conn.execute(
            "INSERT INTO tenancy.users (id, email, display_name, platform_operator, password_hash)"
            " VALUES (%s, %s, %s, %s, %s)",
            [user.id, user.email, user.display_name, user.platform_operator, password_hash],
        )


async def upsert_membership(
    conn: AsyncConnection, tenant_id: uuid.UUID, user_id: uuid.UUID, role: Role
) -> None:
    await conn.execute(
        "INSERT INTO tenancy.memberships (tenant_id, user_id, role) VALUES (%s, %s, %s)"
        " ON CONFLICT (tenant_id, user_id) DO UPDATE SET role = excluded.role",
        [tenant_id, user_id, role.value],
    )


async def memberships_of(conn: AsyncConnection, user_id: uuid.UUID) -> list[Membership]:
    """Needs a transaction with app.user_id set to ``user_id``."""
    cur = await conn.execute(
        "SELECT t.id, t.name, t.slug, t.plan_code, m.role FROM tenancy.memberships m"
        " JOIN tenancy.tenants t ON t.id = m.tenant_id WHERE m.user_id = %s ORDER BY t.name",
        [user_id],
    )
    return [Membership(Tenant(*row[:4]), Role(row[4])) for row in await cur.fetchall()]


async def insert_asset(conn: AsyncConnection, tenant_id: uuid.UUID, asset: Asset) -> None:
    with _unique("an asset with this name already exists under the same parent"):
        await conn.execute(
            "INSERT INTO tenancy.assets (tenant_id, id, parent_id, kind, name) VALUES (%s, %s, %s, %s, %s)",
            [tenant_id, asset.id, asset.parent_id, asset.kind, asset.name],
        )


async def get_asset(conn: AsyncConnection, asset_id: uuid.UUID) -> Asset | None:
    cur = conn.cursor(row_factory=class_row(Asset))
    await cur.execute("SELECT id, parent_id, kind, name FROM tenancy.assets WHERE id = %s", [asset_id])
    return await cur.fetchone()


async def list_assets(conn: AsyncConnection) -> list[Asset]:
    """The tree breadth-first from the sites, so parents always come before children."""
    cur = conn.cursor(row_factory=class_row(Asset))
    await cur.execute(
        "WITH RECURSIVE tree AS ("
        "  SELECT id, parent_id, kind, name, 0 AS depth FROM tenancy.assets WHERE parent_id IS NULL"
        "  UNION ALL"
        "  SELECT a.id, a.parent_id, a.kind, a.name, tree.depth + 1"
        "  FROM tenancy.assets a JOIN tree ON a.parent_id = tree.id"
        ") SELECT id, parent_id, kind, name FROM tree ORDER BY depth, name"
    )
    return await cur.fetchall()


async def insert_series(conn: AsyncConnection, tenant_id: uuid.UUID, series: Series) -> None:
    with _unique("this machine already has a series with this name"):
        await conn.execute(
            "INSERT INTO tenancy.series (tenant_id, id, machine_id, name, unit, kind, decimals)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [tenant_id, series.id, series.machine_id, series.name, series.unit, series.kind, series.decimals],
        )


async def list_series(
    conn: AsyncConnection, machine_ids: list[uuid.UUID], series_ids: list[uuid.UUID]
) -> list[Series]:
    cur = conn.cursor(row_factory=class_row(Series))
    await cur.execute(
        f"SELECT {_SERIES_COLUMNS} FROM tenancy.series"  # noqa: S608 (a constant column list)
        " WHERE (cardinality(%(m)s::uuid[]) = 0 OR machine_id = ANY(%(m)s))"
        " AND (cardinality(%(s)s::uuid[]) = 0 OR id = ANY(%(s)s))"
        " ORDER BY machine_id, name",
        {"m": machine_ids, "s": series_ids},
    )
    return await cur.fetchall()


async def insert_device(
    conn: AsyncConnection, tenant_id: uuid.UUID, device: Device, prefix: str, hashed: bytes
) -> None:
    with _unique("a device with this name already exists"):
        await conn.execute(
            "INSERT INTO tenancy.devices (tenant_id, id, name, credential_prefix, credential_hash)"
            " VALUES (%s, %s, %s, %s, %s)",
            [tenant_id, device.id, device.name, prefix, hashed],
        )


async def device_by_prefix(conn: AsyncConnection, prefix: str) -> tuple[uuid.UUID, uuid.UUID, bytes] | None:
    """Needs a transaction with app.credential_prefix set to ``prefix``."""
    cur = await conn.execute(
        "SELECT tenant_id, id, credential_hash FROM tenancy.devices WHERE credential_prefix = %s", [prefix]
    )
    return await cur.fetchone()
