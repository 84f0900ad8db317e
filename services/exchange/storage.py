"""The import's telemetry SQL, on the target tenant's cell, inside its tenant transaction: blocks written
as ingest writes them (services/runtime/blocks.py), and each series' newest point."""

from __future__ import annotations

import uuid

from psycopg import AsyncConnection

from services.runtime.blocks import INSERT, Block, insert_params

_BLOCKS_PER_STATEMENT = 1000


async def has_blocks(conn: AsyncConnection, tenant_id: uuid.UUID, series_ids: list[uuid.UUID]) -> bool:
    cur = await conn.execute(
        "SELECT EXISTS (SELECT 1 FROM telemetry.blocks WHERE tenant_id = %s AND series_id = ANY(%s))",
        [tenant_id, series_ids],
    )
    return (await cur.fetchone())[0]


async def insert_blocks(conn: AsyncConnection, tenant_id: uuid.UUID, blocks: list[Block]) -> None:
    for i in range(0, len(blocks), _BLOCKS_PER_STATEMENT):
        await conn.execute(INSERT, insert_params(tenant_id, blocks[i : i + _BLOCKS_PER_STATEMENT]))


async def set_latest(
    conn: AsyncConnection, tenant_id: uuid.UUID, series_id: uuid.UUID, ts_ns: int, value: float
) -> None:
    """The series' newest point (docs/QUERIES.md, "Latest values"), moving only forward as ingest does."""
    await conn.execute(
        "INSERT INTO telemetry.series_latest AS l (tenant_id, series_id, ts_ns, value) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (tenant_id, series_id) DO UPDATE SET ts_ns = excluded.ts_ns, value = excluded.value"
        " WHERE l.ts_ns < excluded.ts_ns",
        [tenant_id, series_id, ts_ns, value],
    )
