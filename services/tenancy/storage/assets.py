"""The asset tree and the series catalog."""

from __future__ import annotations

import json
import uuid

from psycopg import AsyncConnection
from psycopg.rows import class_row

from services.tenancy.models import ASSET_KINDS, Asset, Series
from services.tenancy.storage import unique_as_duplicate

_SERIES_COLUMNS = "id, machine_id, name, unit, kind, decimals, alarm_defaults"


async def insert_asset(conn: AsyncConnection, tenant_id: uuid.UUID, asset: Asset) -> bool:
    """False when an asset with this id exists already (layouts are rebuilt idempotently)."""
    with unique_as_duplicate("an asset with this name already exists under the same parent"):
        cur = await conn.execute(
            "INSERT INTO tenancy.assets (tenant_id, id, parent_id, kind, name, machine_type, ideal_cycle_s)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (tenant_id, id) DO NOTHING",
            [
                tenant_id,
                asset.id,
                asset.parent_id,
                asset.kind,
                asset.name,
                asset.machine_type,
                asset.ideal_cycle_s,
            ],
        )
    return cur.rowcount == 1


async def get_asset(conn: AsyncConnection, asset_id: uuid.UUID) -> Asset | None:
    cur = conn.cursor(row_factory=class_row(Asset))
    await cur.execute(
        "SELECT id, parent_id, kind, name, machine_type, ideal_cycle_s FROM tenancy.assets WHERE id = %s",
        [asset_id],
    )
    return await cur.fetchone()


# Tree order: sites, areas, lines, machines (a parent's kind always comes before its children's), each by
# name then id; the index `assets_tree_order` (migration 0015) holds the same rank expression.
_TREE_PAGE = (
    "SELECT id, parent_id, kind, name, machine_type, ideal_cycle_s FROM tenancy.assets"
    " WHERE %(rank)s::int IS NULL"
    " OR (array_position(ARRAY['site', 'area', 'line', 'machine']::text[], kind), name, id)"
    " > (%(rank)s, %(name)s, %(id)s::uuid)"
    " ORDER BY array_position(ARRAY['site', 'area', 'line', 'machine']::text[], kind), name, id"
    " LIMIT %(limit)s"
)


def tree_key(asset: Asset) -> tuple[int, str, uuid.UUID]:
    """An asset's place in tree order, as the page token holds it."""
    return ASSET_KINDS.index(asset.kind) + 1, asset.name, asset.id


async def list_assets(
    conn: AsyncConnection, after: tuple = (None, None, None), limit: int | None = None
) -> list[Asset]:
    """The tree in tree order, parents before children, past the ``tree_key`` ``after`` (Nones: from the
    first site), at most ``limit`` (None: all)."""
    cur = conn.cursor(row_factory=class_row(Asset))
    await cur.execute(_TREE_PAGE, {"rank": after[0], "name": after[1], "id": after[2], "limit": limit})
    return await cur.fetchall()


async def insert_series(conn: AsyncConnection, tenant_id: uuid.UUID, series: Series) -> bool:
    """False when a series with this id exists already (layouts are rebuilt idempotently)."""
    with unique_as_duplicate("this machine already has a series with this name"):
        cur = await conn.execute(
            "INSERT INTO tenancy.series (tenant_id, id, machine_id, name, unit, kind, decimals, alarm_defaults)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (tenant_id, id) DO NOTHING",
            [
                tenant_id,
                series.id,
                series.machine_id,
                series.name,
                series.unit,
                series.kind,
                series.decimals,
                json.dumps(series.alarm_defaults),
            ],
        )
    return cur.rowcount == 1


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


async def update_asset(conn: AsyncConnection, asset: Asset) -> None:
    with unique_as_duplicate("an asset with this name already exists under the same parent"):
        await conn.execute(
            "UPDATE tenancy.assets SET name = %s, parent_id = %s WHERE id = %s",
            [asset.name, asset.parent_id, asset.id],
        )


async def is_ancestor(conn: AsyncConnection, ancestor: uuid.UUID, node: uuid.UUID) -> bool:
    """True when ``ancestor`` is ``node`` or above it (a move there would make a cycle)."""
    cur = await conn.execute(
        "WITH RECURSIVE up AS (SELECT id, parent_id FROM tenancy.assets WHERE id = %s"
        " UNION ALL SELECT a.id, a.parent_id FROM tenancy.assets a JOIN up ON a.id = up.parent_id)"
        " SELECT EXISTS (SELECT 1 FROM up WHERE id = %s)",
        [node, ancestor],
    )
    return (await cur.fetchone())[0]


async def contents(conn: AsyncConnection, asset_id: uuid.UUID) -> tuple[int, int]:
    """(children, series) of a node."""
    cur = await conn.execute(
        "SELECT (SELECT count(*) FROM tenancy.assets WHERE parent_id = %(id)s),"
        " (SELECT count(*) FROM tenancy.series WHERE machine_id = %(id)s)",
        {"id": asset_id},
    )
    return await cur.fetchone()


async def delete_asset(conn: AsyncConnection, asset_id: uuid.UUID) -> bool:
    cur = await conn.execute("DELETE FROM tenancy.assets WHERE id = %s", [asset_id])
    return cur.rowcount == 1


async def delete_series(conn: AsyncConnection, series_id: uuid.UUID) -> bool:
    cur = await conn.execute("DELETE FROM tenancy.series WHERE id = %s", [series_id])
    return cur.rowcount == 1
