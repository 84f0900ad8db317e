"""Users, memberships, device credentials and API keys."""

from __future__ import annotations

import uuid

from psycopg import AsyncConnection
from psycopg.rows import class_row, dict_row

from services.runtime.principal import Role
from services.tenancy.models import ApiKey, Device, Membership, SignInLimits, Tenant, User
from services.tenancy.storage import unique_as_duplicate


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
    with unique_as_duplicate("a user with this email already exists"):
        await conn.execute(
            "INSERT INTO tenancy.users (id, email, display_name, platform_operator, password_hash)"
            " VALUES (%s, %s, %s, %s, %s)",
            [user.id, user.email, user.display_name, user.platform_operator, password_hash],
        )


async def upsert_membership(
    conn: AsyncConnection, tenant_id: uuid.UUID, user_id: uuid.UUID, role: Role
) -> bool:
    """True when the membership is new (an existing one takes the given role)."""
    cur = await conn.execute(
        "INSERT INTO tenancy.memberships (tenant_id, user_id, role) VALUES (%s, %s, %s)"
        " ON CONFLICT (tenant_id, user_id) DO UPDATE SET role = excluded.role RETURNING xmax = 0",
        [tenant_id, user_id, role.value],
    )
    return (await cur.fetchone())[0]


async def memberships_of(conn: AsyncConnection, user_id: uuid.UUID) -> list[Membership]:
    """Needs a transaction with app.user_id set to ``user_id``."""
    cur = await conn.execute(
        "SELECT t.id, t.name, t.slug, s.plan_code, t.supplier_id, s.state, t.template, t.cell, m.role"
        " FROM tenancy.memberships m"
        " JOIN tenancy.tenants t ON t.id = m.tenant_id JOIN tenancy.subscriptions s ON s.tenant_id = t.id"
        " WHERE m.user_id = %s ORDER BY t.name",
        [user_id],
    )
    return [Membership(Tenant(*row[:8]), Role(row[8])) for row in await cur.fetchall()]


async def insert_device(
    conn: AsyncConnection, tenant_id: uuid.UUID, device: Device, prefix: str, hashed: bytes
) -> bool:
    """False when a device with this id exists already (layouts are rebuilt idempotently)."""
    with unique_as_duplicate("a device with this name already exists"):
        cur = await conn.execute(
            "INSERT INTO tenancy.devices (tenant_id, id, name, credential_prefix, credential_hash)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (tenant_id, id) DO NOTHING",
            [tenant_id, device.id, device.name, prefix, hashed],
        )
    return cur.rowcount == 1


async def device_by_prefix(
    conn: AsyncConnection, prefix: str
) -> tuple[uuid.UUID, uuid.UUID, bytes, str, str, int] | None:
    """(tenant, device, credential hash, state, cell, points/s quota) of a live device; needs app.credential_prefix."""
    cur = await conn.execute(
        "SELECT d.tenant_id, d.id, d.credential_hash,"
        " (SELECT s.state FROM tenancy.subscriptions s WHERE s.tenant_id = d.tenant_id),"
        " (SELECT t.cell FROM tenancy.tenants t WHERE t.id = d.tenant_id),"
        " (SELECT (p.quotas->>'points_per_second')::int FROM tenancy.subscriptions s"
        "  JOIN tenancy.plans p ON p.code = s.plan_code WHERE s.tenant_id = d.tenant_id)"
        " FROM tenancy.devices d WHERE d.credential_prefix = %s AND d.revoked_at IS NULL",
        [prefix],
    )
    return await cur.fetchone()


async def revoke_device(conn: AsyncConnection, device_id: uuid.UUID) -> bool:
    cur = await conn.execute(
        "UPDATE tenancy.devices SET revoked_at = now() WHERE id = %s AND revoked_at IS NULL", [device_id]
    )
    return cur.rowcount == 1


async def rotate_device(conn: AsyncConnection, device_id: uuid.UUID, prefix: str, hashed: bytes) -> bool:
    cur = await conn.execute(
        "UPDATE tenancy.devices SET credential_prefix = %s, credential_hash = %s, rotated_at = now()"
        " WHERE id = %s AND revoked_at IS NULL",
        [prefix, hashed, device_id],
    )
    return cur.rowcount == 1


async def insert_api_key(
    conn: AsyncConnection, tenant_id: uuid.UUID, key: ApiKey, hashed: bytes, created_by: str
) -> None:
    with unique_as_duplicate("an API key with this name already exists"):
        await conn.execute(
            "INSERT INTO tenancy.api_keys (tenant_id, id, name, prefix, key_hash, scopes, created_by, expires_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [tenant_id, key.id, key.name, key.prefix, hashed, list(key.scopes), _uuid_or_none(created_by),
             key.expires_at],
        )  # fmt: skip


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


_KEY = (
    "SELECT id, name, prefix, scopes, created_at, expires_at, last_used_at, revoked_at FROM tenancy.api_keys"
)


async def list_api_keys(
    conn: AsyncConnection, after: tuple = (None, None), limit: int | None = None
) -> list[ApiKey]:
    """The tenant's keys oldest first, past the (created_at, id) key ``after`` (Nones: from the oldest), at
    most ``limit`` (None: all)."""
    cur = conn.cursor(row_factory=class_row(ApiKey))
    await cur.execute(
        f"{_KEY} WHERE %(at)s::timestamptz IS NULL OR (created_at, id) > (%(at)s, %(id)s::uuid)"
        " ORDER BY created_at, id LIMIT %(limit)s",
        {"at": after[0], "id": after[1], "limit": limit},
    )
    return await cur.fetchall()


async def revoke_api_key(conn: AsyncConnection, key_id: uuid.UUID) -> bool:
    cur = await conn.execute(
        "UPDATE tenancy.api_keys SET revoked_at = now() WHERE id = %s AND revoked_at IS NULL", [key_id]
    )
    return cur.rowcount == 1


async def api_key_by_prefix(conn: AsyncConnection, prefix: str) -> tuple | None:
    """(tenant, key id, hash, scopes, expired?, state) of a key that is not revoked; needs app.credential_prefix."""
    cur = await conn.execute(
        "SELECT k.tenant_id, k.id, k.key_hash, k.scopes, coalesce(k.expires_at <= now(), false),"
        " (SELECT s.state FROM tenancy.subscriptions s WHERE s.tenant_id = k.tenant_id),"
        " (SELECT t.cell FROM tenancy.tenants t WHERE t.id = k.tenant_id)"
        " FROM tenancy.api_keys k WHERE k.prefix = %s AND k.revoked_at IS NULL",
        [prefix],
    )
    return await cur.fetchone()


async def touch_api_key(conn: AsyncConnection, key_id: uuid.UUID) -> None:
    """Last-used time, at most once a minute per key (the lookup is hot)."""
    await conn.execute(
        "UPDATE tenancy.api_keys SET last_used_at = now() WHERE id = %s"
        " AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')",
        [key_id],
    )


async def reserve_attempt(conn: AsyncConnection, user_id: uuid.UUID, limits: SignInLimits) -> bool | None:
    """Count a sign-in attempt before its password is checked: whether it locked the account, or None
    (nothing counted) while the account is locked or ``limits.ceiling`` checks were counted in its last
    ``window_s``. The attempt that fills the count of ``failures`` locks the account at once for
    ``lock_s``, so concurrent attempts (the row lock makes them take turns, each seeing the last one's
    row) cannot pass it, and an attempt abandoned before its check still counts and the lock still ends.
    After the lock ends a new count starts; the ceiling's window rolls on regardless: ``recent_checks``
    keeps the times of the checks inside it, dropping the older ones as it is written."""
    cur = await conn.execute(
        "UPDATE tenancy.users SET"
        " failed_logins = CASE WHEN locked_until <= now() THEN 1 ELSE failed_logins + 1 END,"
        " locked_until = CASE WHEN (CASE WHEN locked_until <= now() THEN 1 ELSE failed_logins + 1 END) >= %(max)s"
        "                THEN now() + make_interval(secs => %(lock_s)s) END,"
        " recent_checks = ARRAY(SELECT t FROM unnest(recent_checks) t WHERE t > w.since) || now()"
        " FROM (SELECT now() - make_interval(secs => %(window_s)s) AS since) w"
        " WHERE id = %(id)s AND coalesce(locked_until <= now(), true)"
        "   AND (SELECT count(*) FROM unnest(recent_checks) t WHERE t > w.since) < %(ceiling)s"
        " RETURNING locked_until IS NOT NULL",
        {
            "max": limits.failures,
            "lock_s": limits.lock_s,
            "ceiling": limits.ceiling,
            "window_s": limits.window_s,
            "id": user_id,
        },
    )
    row = await cur.fetchone()
    return row and row[0]


async def clear_failures(conn: AsyncConnection, user_id: uuid.UUID) -> None:
    """A right password ends the count (and a lock the attempts in flight with it had set)."""
    await conn.execute(
        "UPDATE tenancy.users SET failed_logins = 0, locked_until = NULL"
        " WHERE id = %s AND (failed_logins <> 0 OR locked_until IS NOT NULL)",
        [user_id],
    )


async def set_password(conn: AsyncConnection, user_id: uuid.UUID, password_hash: str) -> None:
    """A new password also unlocks the account and lifts its ceiling: no guess at the old one tells
    anything about the new one."""
    await conn.execute(
        "UPDATE tenancy.users SET password_hash = %s, failed_logins = 0, locked_until = NULL,"
        " recent_checks = '{}' WHERE id = %s",
        [password_hash, user_id],
    )


async def upgrade_hash(conn: AsyncConnection, user_id: uuid.UUID, password_hash: str) -> None:
    """The same password hashed with today's parameters: the lock and the ceiling stay as they are."""
    await conn.execute("UPDATE tenancy.users SET password_hash = %s WHERE id = %s", [password_hash, user_id])


async def list_devices(conn: AsyncConnection) -> list[tuple]:
    """(id, name, created, revoked) of the tenant's devices."""
    cur = await conn.execute(
        "SELECT id, name, created_at, revoked_at IS NOT NULL FROM tenancy.devices ORDER BY name"
    )
    return list(await cur.fetchall())


async def members(
    conn: AsyncConnection, after_email: str, limit: int
) -> list[tuple[uuid.UUID, str, str, Role]]:
    """The tenant's people (row-level security keeps the memberships to the transaction's tenant) after
    ``after_email`` (lower case), by email."""
    cur = await conn.execute(
        "SELECT u.id, u.email, u.display_name, m.role FROM tenancy.memberships m"
        " JOIN tenancy.users u ON u.id = m.user_id WHERE lower(u.email) > %s ORDER BY lower(u.email) LIMIT %s",
        [after_email, limit],
    )
    return [(row[0], row[1], row[2], Role(row[3])) for row in await cur.fetchall()]
