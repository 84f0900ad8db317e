"""The exports' SQL (table `telemetry.exports`, migrations 0015, 0021, 0022) and the reads of a tenant's points
for one.

Every statement runs in a tenant transaction on the tenant's cell and names the tenant besides: row-level
security is the second wall, not the only one. A supplier grantee's exports of grants (migration 0021) lie on
their grantors' cells and are read in a transaction scoped to the supplier, naming it besides; a tenant's
reads of its exports name `grantee_supplier_id IS NULL`, as its row-level security does.

A run of an export holds it by a lease (migration 0022): ``begin`` takes it only if no live lease holds it,
and every later write of the run names its lease, so a run that lost it (another worker took the export
over) changes nothing. The sweep alone reads across tenants, in the scope ``SWEEP``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from psycopg import AsyncConnection
from psycopg.rows import class_row


@dataclass(frozen=True)
class ExportRow:
    id: uuid.UUID
    state: str
    with_csv: bool
    points_done: int
    points_total: int
    series_done: int
    series_total: int
    bytes: int
    sha256: str
    error: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    grant_id: uuid.UUID | None  # a grantee's export of a grant; None for the tenant's own data
    tenant_id: uuid.UUID  # whose data: the tenant's own, or the grantor of the grant exported


@dataclass(frozen=True)
class Started:
    """What a worker needs of an export it begins."""

    with_csv: bool
    grant_id: uuid.UUID | None
    requested_by: str


_COLUMNS = (
    "id, state, with_csv, points_done, points_total, series_done, series_total, bytes, sha256, error,"
    " created_at, started_at, finished_at, grant_id, tenant_id"
)
_INSERT = (
    "INSERT INTO telemetry.exports (tenant_id, id, with_csv, requested_by, grant_id, grantee_supplier_id)"  # noqa: S608 (constant)
    f" VALUES (%s, %s, %s, %s, %s, %s) RETURNING {_COLUMNS}"
)


async def insert(
    conn: AsyncConnection,
    tenant_id: uuid.UUID,
    export_id: uuid.UUID,
    with_csv: bool,
    requested_by: str,
    grant_id: uuid.UUID | None = None,
    supplier_id: uuid.UUID | None = None,
) -> ExportRow:
    """``supplier_id``: the supplier grantee whose export of a grant this is (``tenant_id`` the grantor)."""
    cur = conn.cursor(row_factory=class_row(ExportRow))
    await cur.execute(_INSERT, [tenant_id, export_id, with_csv, requested_by, grant_id, supplier_id])
    return await cur.fetchone()


# whose rows a read names: a tenant's own exports, or a supplier's exports of grants
_TENANTS = "tenant_id = %(owner)s AND grantee_supplier_id IS NULL"
_SUPPLIERS = "grantee_supplier_id = %(owner)s"


async def get(
    conn: AsyncConnection, owner: uuid.UUID, export_id: uuid.UUID, supplier: bool = False
) -> ExportRow | None:
    """The export of ``owner`` (a tenant, or with ``supplier`` a supplier grantee)."""
    cur = conn.cursor(row_factory=class_row(ExportRow))
    await cur.execute(
        f"SELECT {_COLUMNS} FROM telemetry.exports WHERE {_SUPPLIERS if supplier else _TENANTS}"  # noqa: S608
        " AND id = %(id)s",
        {"owner": owner, "id": export_id},
    )
    return await cur.fetchone()


async def newest(
    conn: AsyncConnection, owner: uuid.UUID, after: tuple, limit: int, supplier: bool = False
) -> list[ExportRow]:
    """The exports of ``owner`` (as for ``get``), newest first, below the (created_at, id) key ``after``
    (Nones: the newest)."""
    cur = conn.cursor(row_factory=class_row(ExportRow))
    await cur.execute(
        f"SELECT {_COLUMNS} FROM telemetry.exports WHERE {_SUPPLIERS if supplier else _TENANTS}"  # noqa: S608
        " AND (%(at)s::timestamptz IS NULL OR (created_at, id) < (%(at)s, %(id)s::uuid))"
        " ORDER BY created_at DESC, id DESC LIMIT %(limit)s",
        {"owner": owner, "at": after[0], "id": after[1], "limit": limit},
    )
    return await cur.fetchall()


_LEASE_UNTIL = "lease_until = now() + make_interval(secs => %s)"


async def begin(
    conn: AsyncConnection, tenant_id: uuid.UUID, export_id: uuid.UUID, lease: uuid.UUID, lease_s: float
) -> Started | None:
    """Mark it running from scratch under ``lease`` (a job taken over from a dead worker starts again); what
    it is, or None when there is nothing to do: finished, held by a live lease, or gone with its tenant."""
    cur = conn.cursor(row_factory=class_row(Started))
    await cur.execute(
        "UPDATE telemetry.exports SET state = 'running', started_at = now(), points_done = 0, series_done = 0,"  # noqa: S608 (constant)
        f" lease_id = %s, {_LEASE_UNTIL} WHERE tenant_id = %s AND id = %s"
        " AND (state = 'queued' OR (state = 'running' AND coalesce(lease_until, '-infinity') < now()))"
        " RETURNING with_csv, grant_id, requested_by",
        [lease, lease_s, tenant_id, export_id],
    )
    return await cur.fetchone()


async def exists(conn: AsyncConnection, tenant_id: uuid.UUID, export_id: uuid.UUID) -> bool:
    cur = await conn.execute(
        "SELECT EXISTS (SELECT 1 FROM telemetry.exports WHERE tenant_id = %s AND id = %s)",
        [tenant_id, export_id],
    )
    return (await cur.fetchone())[0]


async def _held(
    conn: AsyncConnection,
    assignments: str,
    values: list,
    tenant_id: uuid.UUID,
    export_id: uuid.UUID,
    lease: uuid.UUID,
) -> bool:
    """``assignments`` (constant SQL) made only while the run of ``lease`` holds the export; whether it did."""
    cur = await conn.execute(
        f"UPDATE telemetry.exports SET {assignments} WHERE tenant_id = %s AND id = %s AND lease_id = %s"  # noqa: S608 (constant)
        " AND state = 'running'",
        [*values, tenant_id, export_id, lease],
    )
    return cur.rowcount == 1


async def renew(
    conn: AsyncConnection, tenant_id: uuid.UUID, export_id: uuid.UUID, lease: uuid.UUID, lease_s: float
) -> bool:
    """Extend the run's lease; False when the run no longer holds the export."""
    return await _held(conn, _LEASE_UNTIL, [lease_s], tenant_id, export_id, lease)


async def progress(
    conn: AsyncConnection,
    tenant_id: uuid.UUID,
    export_id: uuid.UUID,
    lease: uuid.UUID,
    points: int,
    series: int,
    *,
    totals: bool = False,
) -> bool:
    """The points and series done, or with ``totals`` those to do."""
    columns = "points_total = %s, series_total = %s" if totals else "points_done = %s, series_done = %s"
    return await _held(conn, columns, [points, series], tenant_id, export_id, lease)


async def finish(
    conn: AsyncConnection,
    tenant_id: uuid.UUID,
    export_id: uuid.UUID,
    lease: uuid.UUID,
    size: int,
    sha256: str,
) -> bool:
    done = "state = 'done', bytes = %s, sha256 = %s, finished_at = now(), lease_until = NULL"
    return await _held(conn, done, [size, sha256], tenant_id, export_id, lease)


async def fail(
    conn: AsyncConnection, tenant_id: uuid.UUID, export_id: uuid.UUID, lease: uuid.UUID, error: str
) -> bool:
    failed = "state = 'failed', error = %s, finished_at = now(), lease_until = NULL"
    return await _held(conn, failed, [error[:500]], tenant_id, export_id, lease)


SWEEP = {"app.export_sweep": "on"}  # the scope in which the worker sees every tenant's unfinished exports


@dataclass(frozen=True)
class Unheld:
    tenant_id: uuid.UUID
    id: uuid.UUID
    grantee_supplier_id: uuid.UUID | None


async def unheld(conn: AsyncConnection, limit: int) -> list[Unheld]:
    """In the scope ``SWEEP``: exports still to do that no run holds (queued, or running under an expired
    lease), oldest first."""
    cur = conn.cursor(row_factory=class_row(Unheld))
    await cur.execute(
        "SELECT tenant_id, id, grantee_supplier_id FROM telemetry.exports WHERE state IN ('queued', 'running')"
        " AND (state = 'queued' OR coalesce(lease_until, '-infinity') < now()) ORDER BY created_at LIMIT %s",
        [limit],
    )
    return await cur.fetchall()


async def point_counts(conn: AsyncConnection, tenant_id: uuid.UUID) -> dict[uuid.UUID, int]:
    """Points stored per series of the tenant (from the block statistics)."""
    cur = await conn.execute(
        "SELECT series_id, sum(count) FROM telemetry.blocks WHERE tenant_id = %s GROUP BY series_id",
        [tenant_id],
    )
    return {series_id: int(total) for series_id, total in await cur.fetchall()}


async def payloads(conn: AsyncConnection, tenant_id: uuid.UUID, series_id: uuid.UUID) -> list[bytes]:
    """Every block payload of one series, by time."""
    cur = await conn.execute(
        "SELECT payload_chunks || payload_rest FROM telemetry.blocks WHERE tenant_id = %s AND series_id = %s"
        " ORDER BY start_ns, id",
        [tenant_id, series_id],
    )
    return [row[0] for row in await cur.fetchall()]
