"""The SQL of retention: whole blocks past a tenant's cutoff deleted a chunk at a time, the announcements
that cutoff is bounded by, and the notice of what goes within a week. Every statement runs in the
caller's tenant transaction (role sf_worker, row-level security forced), so it can only ever see and
delete that tenant's rows.

Chunks: one weekly partition at a time (named directly, so a statement touches one partition), at most
``limit`` blocks per statement, each chunk its own transaction: a big delete never holds long locks.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

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


async def delete_summaries_before(conn: AsyncConnection, tenant_id: uuid.UUID, cutoff_ns: int) -> None:
    """What summarises blocks retention may delete: the rollups of every hour it may trim (a rollup
    never outlives a change to its hour's blocks: migration 0012), and the newest point of series whose
    newest point is past the cutoff (migration 0013)."""
    for table, column in (("rollups", "hour_ns"), ("series_latest", "ts_ns")):
        await conn.execute(
            sql.SQL("DELETE FROM telemetry.{} WHERE tenant_id = %s AND {} < %s").format(
                sql.Identifier(table), sql.Identifier(column)
            ),
            [tenant_id, cutoff_ns],
        )


async def oldest_end_before(conn: AsyncConnection, tenant_id: uuid.UUID, before_ns: int) -> int | None:
    """The end of the tenant's oldest block ending before ``before_ns``, if any."""
    cur = await conn.execute(
        "SELECT min(end_ns) FROM telemetry.blocks WHERE tenant_id = %s AND start_ns < %s AND end_ns < %s",
        [tenant_id, before_ns, before_ns],
    )
    return (await cur.fetchone())[0]


@dataclass(frozen=True)
class Notice:
    """A tenant's standing retention notice (telemetry.retention_notices)."""

    notice_ns: int  # since when it stands: its id, mailed once
    effective_ns: int  # nothing is deleted under it before this
    deletes_before_ns: int
    oldest_end_ns: int
    retention_days: int
    plan_code: str
    notified: bool


async def announced_bound(conn: AsyncConnection, tenant_id: uuid.UUID, matured_ns: int) -> int | None:
    """The bound of the tenant's newest announcement made at or before ``matured_ns``, if any."""
    cur = await conn.execute(
        "SELECT deletes_before_ns FROM telemetry.retention_announcements WHERE tenant_id = %s"
        " AND announced_ns <= %s ORDER BY announced_ns DESC LIMIT 1",
        [tenant_id, matured_ns],
    )
    row = await cur.fetchone()
    return row[0] if row else None


async def announce(
    conn: AsyncConnection,
    tenant_id: uuid.UUID,
    now_ns: int,
    deletes_before_ns: int,
    days: int,
    matured_ns: int,
) -> None:
    """Record what this pass announced (a pass run again at the same ``now_ns`` keeps the first), and
    prune what the newest matured announcement supersedes."""
    await conn.execute(
        "INSERT INTO telemetry.retention_announcements (tenant_id, announced_ns, deletes_before_ns,"
        " retention_days) VALUES (%s, %s, %s, %s) ON CONFLICT (tenant_id, announced_ns) DO NOTHING",
        [tenant_id, now_ns, deletes_before_ns, days],
    )
    await conn.execute(
        "DELETE FROM telemetry.retention_announcements WHERE tenant_id = %(t)s AND announced_ns <"
        " (SELECT max(announced_ns) FROM telemetry.retention_announcements WHERE tenant_id = %(t)s"
        " AND announced_ns <= %(m)s)",
        {"t": tenant_id, "m": matured_ns},
    )


async def save_notice(conn: AsyncConnection, tenant_id: uuid.UUID, notice: Notice) -> Notice:
    """Insert or refresh the tenant's notice with ``notice`` (as it would stand if new); it starts anew
    (its ``notice_ns`` and ``effective_ns``, not yet mailed) when there was none or the retention got
    shorter, else keeps them. Returns the notice as stored."""
    cur = await conn.execute(
        "INSERT INTO telemetry.retention_notices AS n (tenant_id, deletes_before_ns, oldest_end_ns,"
        " retention_days, plan_code, notice_ns, effective_ns) VALUES (%(t)s, %(before)s, %(oldest)s, %(days)s,"
        " %(plan)s, %(now)s, %(effective)s) ON CONFLICT (tenant_id) DO UPDATE SET deletes_before_ns = excluded.deletes_before_ns,"
        " oldest_end_ns = excluded.oldest_end_ns, retention_days = excluded.retention_days,"
        " plan_code = excluded.plan_code, updated_at = now(),"
        " notice_ns = CASE WHEN excluded.retention_days < n.retention_days THEN excluded.notice_ns"
        "   ELSE n.notice_ns END,"
        " effective_ns = CASE WHEN excluded.retention_days < n.retention_days THEN excluded.effective_ns"
        "   ELSE n.effective_ns END,"
        " notified_at = CASE WHEN excluded.retention_days < n.retention_days THEN NULL ELSE n.notified_at END"
        " RETURNING notice_ns, effective_ns, deletes_before_ns, oldest_end_ns, retention_days, plan_code,"
        " notified_at IS NOT NULL",
        {
            "t": tenant_id,
            "before": notice.deletes_before_ns,
            "oldest": notice.oldest_end_ns,
            "days": notice.retention_days,
            "plan": notice.plan_code,
            "now": notice.notice_ns,
            "effective": notice.effective_ns,
        },
    )
    return Notice(*await cur.fetchone())


async def mark_notified(conn: AsyncConnection, tenant_id: uuid.UUID, notice_ns: int) -> None:
    """The notice was mailed; a notice that started anew since is left to be mailed."""
    await conn.execute(
        "UPDATE telemetry.retention_notices SET notified_at = now() WHERE tenant_id = %s AND notice_ns = %s",
        [tenant_id, notice_ns],
    )


async def clear_notice(conn: AsyncConnection, tenant_id: uuid.UUID) -> None:
    """Nothing is due within the week: no notice, and no announcement stands (new data gets a new week)."""
    await conn.execute("DELETE FROM telemetry.retention_notices WHERE tenant_id = %s", [tenant_id])
    await conn.execute("DELETE FROM telemetry.retention_announcements WHERE tenant_id = %s", [tenant_id])
