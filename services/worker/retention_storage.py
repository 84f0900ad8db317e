"""The SQL of retention: whole blocks past a tenant's cutoff deleted a chunk at a time, and the notice of
what goes within a week. Every statement runs in the caller's tenant transaction (role sf_worker,
row-level security forced), so it can only ever see and delete that tenant's rows.

Chunks: one weekly partition at a time (named directly, so a statement touches one partition), at most
``limit`` blocks per statement, each chunk its own transaction: a big delete never holds long locks.
"""

from __future__ import annotations

import uuid

from psycopg import AsyncConnection, sql

from services.ingest.partitions import Partition, partition_of


async def partitions_before(conn: AsyncConnection, cutoff_ns: int) -> list[Partition]:
    """The partitions that may hold blocks ending before ``cutoff_ns``: every weekly one starting before
    it, oldest first, and DEFAULT (it holds whatever lies outside the prepared weeks)."""
    cur = await conn.execute(
        "SELECT c.oid::regclass::text, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i"
        " JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'telemetry.blocks'::regclass"
    )
    found = [partition_of(name, bound) for name, bound in await cur.fetchall()]
    kept = [p for p in found if p.is_default or p.start_ns < cutoff_ns]
    return sorted(kept, key=lambda p: (p.is_default, p.start_ns or 0))


async def delete_chunk(
    conn: AsyncConnection, partition: str, tenant_id: uuid.UUID, cutoff_ns: int, limit: int
) -> int:
    """Delete up to ``limit`` of the tenant's blocks in ``partition`` that end before ``cutoff_ns``."""
    table = sql.SQL(".").join(sql.Identifier(part) for part in partition.split("."))
    query = sql.SQL(
        "DELETE FROM {table} WHERE (series_id, start_ns, id) IN (SELECT series_id, start_ns, id FROM {table}"
        " WHERE tenant_id = %(tenant)s AND start_ns < %(cutoff)s AND end_ns < %(cutoff)s LIMIT %(limit)s)"
        " AND tenant_id = %(tenant)s"
    ).format(table=table)
    cur = await conn.execute(query, {"tenant": tenant_id, "cutoff": cutoff_ns, "limit": limit})
    return cur.rowcount


async def oldest_end_before(conn: AsyncConnection, tenant_id: uuid.UUID, before_ns: int) -> int | None:
    """The end of the tenant's oldest block ending before ``before_ns``, if any."""
    cur = await conn.execute(
        "SELECT min(end_ns) FROM telemetry.blocks WHERE tenant_id = %s AND start_ns < %s AND end_ns < %s",
        [tenant_id, before_ns, before_ns],
    )
    return (await cur.fetchone())[0]


async def save_notice(
    conn: AsyncConnection, tenant_id: uuid.UUID, deletes_before_ns: int, oldest_end_ns: int, days: int
) -> None:
    await conn.execute(
        "INSERT INTO telemetry.retention_notices (tenant_id, deletes_before_ns, oldest_end_ns, retention_days)"
        " VALUES (%s, %s, %s, %s) ON CONFLICT (tenant_id) DO UPDATE SET"
        " deletes_before_ns = excluded.deletes_before_ns, oldest_end_ns = excluded.oldest_end_ns,"
        " retention_days = excluded.retention_days, updated_at = now()",
        [tenant_id, deletes_before_ns, oldest_end_ns, days],
    )


async def clear_notice(conn: AsyncConnection, tenant_id: uuid.UUID) -> None:
    await conn.execute("DELETE FROM telemetry.retention_notices WHERE tenant_id = %s", [tenant_id])
