"""What a retention notice mail needs: the tenant's name and plan, its owners' and admins' emails, and
whether a notice was mailed already (the audit log records each sending)."""

from __future__ import annotations

import uuid

from psycopg import AsyncConnection

ACTION = "retention.notify"


async def tenant_and_plan(conn: AsyncConnection, tenant_id: uuid.UUID) -> tuple[str, str] | None:
    """(tenant name, plan name) of the tenant in context."""
    cur = await conn.execute(
        "SELECT t.name, p.name FROM tenancy.tenants t JOIN tenancy.subscriptions s ON s.tenant_id = t.id"
        " JOIN tenancy.plans p ON p.code = s.plan_code WHERE t.id = %s",
        [tenant_id],
    )
    return await cur.fetchone()


async def manager_emails(conn: AsyncConnection, tenant_id: uuid.UUID) -> list[str]:
    """The emails of the tenant's owners and admins."""
    cur = await conn.execute(
        "SELECT u.email FROM tenancy.memberships m JOIN tenancy.users u ON u.id = m.user_id"
        " WHERE m.tenant_id = %s AND m.role IN ('owner', 'admin') ORDER BY u.email",
        [tenant_id],
    )
    return [row[0] for row in await cur.fetchall()]


async def already_mailed(conn: AsyncConnection, tenant_id: uuid.UUID, notice_id: str) -> bool:
    cur = await conn.execute(
        "SELECT EXISTS (SELECT 1 FROM tenancy.audit_log WHERE tenant_id = %s AND action = %s"
        " AND target = %s AND outcome = 'ok')",
        [tenant_id, ACTION, notice_id],
    )
    return (await cur.fetchone())[0]
