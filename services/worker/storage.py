"""The worker's SQL: lock a series as ingest does, read one hour's blocks, swap them for merged ones, and
find a tenant's hours still to compact (the sweep, services/worker/compaction_sweep.py).

Every statement names the hour's start_ns range, so on a table partitioned by start_ns it touches
one partition, and a block never leaves it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from psycopg import AsyncConnection

from services.runtime.blocks import INSERT, Block, insert_params
from services.runtime.compaction import HOUR_NS
from services.runtime.rollups import Rollup


@dataclass(frozen=True)
class BlockInfo:
    """A stored block without its payload (``size``: the payload's bytes)."""

    id: int
    start_ns: int
    end_ns: int
    count: int
    size: int


@dataclass(frozen=True)
class StoredBlock:
    id: int
    start_ns: int
    end_ns: int
    count: int
    payload: bytes


async def try_lock_series(conn: AsyncConnection, series_id: uuid.UUID) -> bool:
    """The lock ingest's writers of this series take (``services/ingest/storage.lock_series``), until
    commit; False at once when a writer or another worker holds it."""
    cur = await conn.execute(
        "SELECT pg_try_advisory_xact_lock(hashtextextended(%s::uuid::text, 0))", [series_id]
    )
    return (await cur.fetchone())[0]


_IN_HOUR = (
    " FROM telemetry.blocks WHERE tenant_id = %s AND series_id = %s AND start_ns >= %s AND start_ns < %s"
    " AND end_ns < %s ORDER BY id"
)


async def hour_block_ids(
    conn: AsyncConnection, tenant_id: uuid.UUID, series_id: uuid.UUID, start_ns: int, end_ns: int
) -> list[int]:
    """The ids ``hour_blocks`` would read now, in its order."""
    cur = await conn.execute("SELECT id" + _IN_HOUR, [tenant_id, series_id, start_ns, end_ns, end_ns])
    return [row[0] for row in await cur.fetchall()]


async def hour_blocks(
    conn: AsyncConnection, tenant_id: uuid.UUID, series_id: uuid.UUID, start_ns: int, end_ns: int
) -> list[BlockInfo]:
    """The series' blocks lying wholly inside [start_ns, end_ns), oldest stored first, without payloads
    (their sizes come from the TOAST pointers: nothing is read out of line)."""
    cur = await conn.execute(
        "SELECT id, start_ns, end_ns, count, octet_length(payload_chunks) + octet_length(payload_rest)"
        + _IN_HOUR,
        [tenant_id, series_id, start_ns, end_ns, end_ns],
    )
    return [BlockInfo(*row) for row in await cur.fetchall()]


async def with_payloads(
    conn: AsyncConnection, tenant_id: uuid.UUID, series_id: uuid.UUID, blocks: list[BlockInfo]
) -> list[StoredBlock]:
    """``blocks`` with their payloads, in the order given. The scan covers only the blocks' own starts, not
    their hour: an hour is read in many groups, and each would otherwise walk all of its index entries."""
    cur = await conn.execute(
        "SELECT id, payload_chunks || payload_rest FROM telemetry.blocks WHERE tenant_id = %s AND series_id = %s"
        " AND start_ns >= %s AND start_ns <= %s AND id = ANY(%s)",
        [tenant_id, series_id, min(b.start_ns for b in blocks), max(b.start_ns for b in blocks),
         [b.id for b in blocks]],
    )  # fmt: skip
    payloads = dict(await cur.fetchall())
    if len(payloads) != len(blocks):
        raise BlocksChanged(f"{len(blocks) - len(payloads)} of {len(blocks)} blocks gone while read")
    return [StoredBlock(b.id, b.start_ns, b.end_ns, b.count, payloads[b.id]) for b in blocks]


class BlocksChanged(Exception):
    """Blocks listed for a merge were gone when their payloads were read (another worker swapped the hour
    meanwhile) or when deleted (cannot happen under the series lock): the hour is left for a later pass."""


async def insert_blocks(conn: AsyncConnection, tenant_id: uuid.UUID, blocks: list[Block]) -> list[int]:
    """Inserts ``blocks`` (in the caller's transaction); their ids."""
    if not blocks:
        return []
    cur = await conn.execute(INSERT + " RETURNING id", insert_params(tenant_id, blocks))
    return [row[0] for row in await cur.fetchall()]


async def delete_blocks(
    conn: AsyncConnection, tenant_id: uuid.UUID, series_id: uuid.UUID, hour: tuple[int, int], ids: list[int]
) -> None:
    """Deletes the hour's blocks ``ids`` (in the caller's transaction), all of them or raises."""
    cur = await conn.execute(
        "DELETE FROM telemetry.blocks WHERE tenant_id = %s AND series_id = %s AND start_ns >= %s"
        " AND start_ns < %s AND id = ANY(%s)",
        [tenant_id, series_id, *hour, ids],
    )
    if cur.rowcount != len(ids):
        raise BlocksChanged(f"{cur.rowcount} of {len(ids)} blocks deleted")


async def has_rollups(
    conn: AsyncConnection, tenant_id: uuid.UUID, series_id: uuid.UUID, hour_ns: int
) -> bool:
    cur = await conn.execute(
        "SELECT EXISTS (SELECT 1 FROM telemetry.rollups WHERE tenant_id = %s AND series_id = %s AND hour_ns = %s)",
        [tenant_id, series_id, hour_ns],
    )
    return (await cur.fetchone())[0]


async def replace_rollups(
    conn: AsyncConnection, tenant_id: uuid.UUID, series_id: uuid.UUID, hour_ns: int, rollups: list[Rollup]
) -> None:
    """The hour's rollups become ``rollups`` (none: deleted)."""
    await conn.execute(
        "DELETE FROM telemetry.rollups WHERE tenant_id = %s AND series_id = %s AND hour_ns = %s",
        [tenant_id, series_id, hour_ns],
    )
    if rollups:
        await conn.execute(
            "INSERT INTO telemetry.rollups (tenant_id, series_id, width_ns, hour_ns, stats)"
            " SELECT %s, %s, * FROM unnest(%s::bigint[], %s::bigint[], %s::bytea[])",
            [
                tenant_id,
                series_id,
                *([getattr(r, f) for r in rollups] for f in ("width_ns", "hour_ns", "stats")),
            ],
        )


async def overdue_hours(
    conn: AsyncConnection, tenant_id: uuid.UUID, start_ns: int, end_ns: int, target: int, limit: int
) -> list[tuple[uuid.UUID, int]]:
    """(series, hour) of the tenant's hours in [start_ns, end_ns) whose blocks lying wholly inside them are
    more than their points need (``needs_compaction``), at most ``limit``: from each series with a point
    since ``start_ns``, its blocks of the range by the primary key."""
    cur = await conn.execute(
        "SELECT b.series_id, b.start_ns / %(hour)s FROM telemetry.series_latest l JOIN telemetry.blocks b"
        " ON b.tenant_id = l.tenant_id AND b.series_id = l.series_id AND b.start_ns >= %(start)s"
        " AND b.start_ns < %(end)s AND b.end_ns < (b.start_ns / %(hour)s + 1) * %(hour)s"
        " WHERE l.tenant_id = %(tenant)s AND l.ts_ns >= %(start)s"
        " GROUP BY 1, 2 HAVING count(*) > ceil(sum(b.count) / %(target)s::numeric) LIMIT %(limit)s",
        {
            "hour": HOUR_NS,
            "start": start_ns,
            "end": end_ns,
            "tenant": tenant_id,
            "target": target,
            "limit": limit,
        },
    )
    return [(series_id, int(hour)) for series_id, hour in await cur.fetchall()]
