"""Data-sharing grants, the lookups that make one, and a grant's history in the audit log.

Row-level security shows a grant to its grantor (app.tenant_id) and to its grantee (app.tenant_id of the
grantee tenant, app.supplier_id of the grantee supplier); only the grantor writes. The statements that list
grants name the side they want explicitly, since a tenant may be both."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime

from psycopg import AsyncConnection
from psycopg.rows import class_row

from services.tenancy.models import AuditEvent
from services.tenancy.sharing_models import Grant

_COLUMNS = (
    "id, tenant_id, grantor_name, grantee_tenant_id, grantee_supplier_id, grantee_name, grantee_partner,"
    " series_ids, series_labels, start_ns, end_ns, granularity, purpose, expires_at, created_at, created_by,"
    " revoked_at, revoked_by"
)
_GRANT = f"SELECT {_COLUMNS} FROM tenancy.data_grants"  # noqa: S608 (a constant column list)
_LIVE = "(%(all)s OR (revoked_at IS NULL AND expires_at > now()))"
# Below a page token's key (services/runtime/keyset.py); LIMIT NULL (no page size) reads them all.
_BELOW = "(%(at)s::timestamptz IS NULL OR (created_at, id) < (%(at)s, %(id)s::uuid))"


async def tenant_name(conn: AsyncConnection, tenant_id: uuid.UUID) -> str | None:
    """The name of the one tenant the transaction may look up (app.grantee_lookup), if it exists."""
    cur = await conn.execute("SELECT name FROM tenancy.tenants WHERE id = %s", [tenant_id])
    row = await cur.fetchone()
    return row[0] if row else None


async def supplier_of(conn: AsyncConnection, supplier_id: uuid.UUID) -> tuple[str, bool] | None:
    """(name, registered AI-analysis partner) of a supplier; the directory of suppliers is public."""
    cur = await conn.execute(
        "SELECT name, analysis_partner FROM tenancy.suppliers WHERE id = %s", [supplier_id]
    )
    return await cur.fetchone()


async def set_partner(conn: AsyncConnection, supplier_id: uuid.UUID, partner: bool) -> bool:
    cur = await conn.execute(
        "UPDATE tenancy.suppliers SET analysis_partner = %s WHERE id = %s", [partner, supplier_id]
    )
    return cur.rowcount == 1


async def series_labels(
    conn: AsyncConnection, series_ids: list[uuid.UUID], asset_ids: list[uuid.UUID]
) -> tuple[list[dict], set[uuid.UUID]]:
    """The tenant's series named, and every series beneath the assets named, as labels (id, name, unit,
    machine) by machine and name; and the named assets that are not the tenant's."""
    cur = await conn.execute(
        "WITH RECURSIVE below AS ("
        "  SELECT id, id AS root FROM tenancy.assets WHERE id = ANY(%(assets)s)"
        "  UNION ALL SELECT a.id, below.root FROM tenancy.assets a JOIN below ON a.parent_id = below.id)"
        " SELECT s.id::text, s.name, s.unit, m.name FROM tenancy.series s JOIN tenancy.assets m ON m.id = s.machine_id"
        " WHERE s.id = ANY(%(series)s) OR s.machine_id IN (SELECT id FROM below)"
        " ORDER BY m.name, s.name",
        {"assets": asset_ids, "series": series_ids},
    )
    labels = [{"id": i, "name": n, "unit": u, "machine": m} for i, n, u, m in await cur.fetchall()]
    cur = await conn.execute("SELECT id FROM tenancy.assets WHERE id = ANY(%s)", [asset_ids])
    return labels, set(asset_ids) - {row[0] for row in await cur.fetchall()}


async def lock_pair(conn: AsyncConnection, grantor: uuid.UUID, grantee: uuid.UUID) -> None:
    """Serialises grants between one grantor and one grantee, so two overlapping ones cannot both pass."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"grant:{grantor}:{grantee}"]
    )


async def overlapping(
    conn: AsyncConnection, grantee: uuid.UUID, series_ids: list[uuid.UUID], start_ns: int, end_ns: int
) -> uuid.UUID | None:
    """A live grant of the tenant in context to ``grantee`` sharing a series and part of the time range."""
    cur = await conn.execute(
        "SELECT id FROM tenancy.data_grants WHERE tenant_id = current_setting('app.tenant_id')::uuid"
        " AND %(grantee)s IN (grantee_tenant_id, grantee_supplier_id)"
        " AND revoked_at IS NULL AND expires_at > now() AND series_ids && %(series)s::uuid[]"
        " AND start_ns < %(end)s AND %(start)s < end_ns LIMIT 1",
        {"grantee": grantee, "series": series_ids, "start": start_ns, "end": end_ns},
    )
    row = await cur.fetchone()
    return row[0] if row else None


@dataclass(frozen=True)
class NewGrant:
    """What a grant is made of; the database adds when and the grantor's tenant (from the transaction)."""

    id: uuid.UUID
    grantor_name: str
    grantee_tenant_id: uuid.UUID | None
    grantee_supplier_id: uuid.UUID | None
    grantee_name: str
    grantee_partner: bool
    series_labels: list[dict]
    start_ns: int
    end_ns: int
    granularity: str
    purpose: str
    expires_at: datetime
    created_by: str


async def insert(conn: AsyncConnection, new: NewGrant) -> Grant:
    cur = conn.cursor(row_factory=class_row(Grant))
    await cur.execute(
        "INSERT INTO tenancy.data_grants (tenant_id, id, grantor_name, grantee_tenant_id, grantee_supplier_id,"  # noqa: S608 (a constant column list)
        " grantee_name, grantee_partner, series_ids, series_labels, start_ns, end_ns, granularity, purpose,"
        " expires_at, created_by) VALUES (current_setting('app.tenant_id')::uuid, %(id)s, %(grantor_name)s,"
        " %(grantee_tenant_id)s, %(grantee_supplier_id)s, %(grantee_name)s, %(grantee_partner)s, %(series_ids)s,"
        " %(labels)s, %(start_ns)s, %(end_ns)s, %(granularity)s, %(purpose)s, %(expires_at)s, %(created_by)s)"
        f" RETURNING {_COLUMNS}",
        {
            **asdict(new),
            "series_ids": [uuid.UUID(label["id"]) for label in new.series_labels],
            "labels": json.dumps(new.series_labels),
        },
    )
    return await cur.fetchone()


async def revoke(conn: AsyncConnection, grant_id: uuid.UUID, by: str) -> Grant | None:
    """The grant of the tenant in context, revoked now unless it was already."""
    cur = conn.cursor(row_factory=class_row(Grant))
    await cur.execute(
        "UPDATE tenancy.data_grants SET revoked_at = coalesce(revoked_at, now()), revoked_by = coalesce(revoked_by, %s)"  # noqa: S608 (a constant column list)
        " WHERE id = %s AND tenant_id = current_setting('app.tenant_id')::uuid"
        f" RETURNING {_COLUMNS}",
        [by, grant_id],
    )
    return await cur.fetchone()


async def given(conn: AsyncConnection, grant_id: uuid.UUID) -> Grant | None:
    """One grant the tenant in context gave."""
    cur = conn.cursor(row_factory=class_row(Grant))
    await cur.execute(
        f"{_GRANT} WHERE id = %s AND tenant_id = current_setting('app.tenant_id')::uuid", [grant_id]
    )
    return await cur.fetchone()


async def list_given(
    conn: AsyncConnection, include_ended: bool, after: tuple, limit: int | None
) -> list[Grant]:
    """The tenant in context's grants, newest first, below the (created_at, id) key ``after``."""
    cur = conn.cursor(row_factory=class_row(Grant))
    await cur.execute(
        f"{_GRANT} WHERE tenant_id = current_setting('app.tenant_id')::uuid AND {_LIVE} AND {_BELOW}"
        " ORDER BY created_at DESC, id DESC LIMIT %(limit)s",
        {"all": include_ended, "at": after[0], "id": after[1], "limit": limit},
    )
    return await cur.fetchall()


async def list_received(
    conn: AsyncConnection, grantee: uuid.UUID, include_ended: bool, after: tuple, limit: int | None
) -> list[Grant]:
    """The grants to ``grantee``, newest first, below the (created_at, id) key ``after``."""
    cur = conn.cursor(row_factory=class_row(Grant))
    await cur.execute(
        f"{_GRANT} WHERE %(grantee)s IN (grantee_tenant_id, grantee_supplier_id) AND {_LIVE} AND {_BELOW}"
        " ORDER BY created_at DESC, id DESC LIMIT %(limit)s",
        {"grantee": grantee, "all": include_ended, "at": after[0], "id": after[1], "limit": limit},
    )
    return await cur.fetchall()


async def grantor_of(conn: AsyncConnection, grant_id: uuid.UUID, grantee: uuid.UUID) -> uuid.UUID | None:
    """The grantor of a grant given to ``grantee`` (row-level security shows only the grantee's grants)."""
    cur = await conn.execute(
        "SELECT tenant_id FROM tenancy.data_grants WHERE id = %s AND %s IN (grantee_tenant_id, grantee_supplier_id)",
        [grant_id, grantee],
    )
    row = await cur.fetchone()
    return row[0] if row else None


async def series_cell(conn: AsyncConnection, tenant_id: uuid.UUID, series: uuid.UUID) -> str | None:
    """The cell of the tenant in context, if ``series`` is still in its catalog."""
    cur = await conn.execute(
        "SELECT t.cell FROM tenancy.tenants t WHERE t.id = %s AND EXISTS (SELECT 1 FROM tenancy.series s WHERE s.id = %s)",
        [tenant_id, series],
    )
    row = await cur.fetchone()
    return row[0] if row else None


async def history(
    conn: AsyncConnection, grant_id: uuid.UUID, before: int | None, limit: int
) -> list[AuditEvent]:
    """The audit events of one grant of the tenant in context, newest first."""
    cur = conn.cursor(row_factory=class_row(AuditEvent))
    await cur.execute(
        "SELECT id, tenant_id, at, actor_kind, actor_id, action, target, outcome, source, detail"
        " FROM tenancy.audit_log WHERE tenant_id = current_setting('app.tenant_id')::uuid AND target = %s"
        " AND (%s::bigint IS NULL OR id < %s) ORDER BY id DESC LIMIT %s",
        [str(grant_id), before, before, limit],
    )
    return await cur.fetchall()
