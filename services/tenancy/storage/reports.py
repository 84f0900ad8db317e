"""SQL of the report centre: reports and the operator's moves (row-level security decides who sees which)."""

from __future__ import annotations

import uuid

from psycopg import AsyncConnection
from psycopg.rows import class_row

from services.tenancy.programme_models import Report, ReportEvent

_REPORT = (
    "SELECT id, reporter, reporter_organisation, category, supplier_id, supplier_name, subject, body, status,"
    " outcome, created_at, updated_at FROM tenancy.reports"
)


async def supplier_name(conn: AsyncConnection, supplier_id: uuid.UUID) -> str | None:
    cur = await conn.execute("SELECT name FROM tenancy.suppliers WHERE id = %s", [supplier_id])
    row = await cur.fetchone()
    return row[0] if row else None


async def insert(conn: AsyncConnection, report: Report) -> None:
    await conn.execute(
        "INSERT INTO tenancy.reports (id, reporter, reporter_organisation, category, supplier_id, supplier_name,"
        " subject, body, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        [
            report.id,
            report.reporter,
            report.reporter_organisation,
            report.category,
            report.supplier_id,
            report.supplier_name,
            report.subject,
            report.body,
            report.created_at,
            report.updated_at,
        ],
    )


async def visible(conn: AsyncConnection, statuses: list[str], after: tuple, limit: int) -> list[Report]:
    """The reports the caller may see, newest first, optionally in ``statuses`` only, below the
    (created_at, id) key ``after`` (Nones: from the newest)."""
    cur = conn.cursor(row_factory=class_row(Report))
    await cur.execute(
        _REPORT + " WHERE (cardinality(%(statuses)s::text[]) = 0 OR status = ANY(%(statuses)s))"
        " AND (%(at)s::timestamptz IS NULL OR (created_at, id) < (%(at)s, %(id)s::uuid))"
        " ORDER BY created_at DESC, id DESC LIMIT %(limit)s",
        {"statuses": statuses, "at": after[0], "id": after[1], "limit": limit},
    )
    return await cur.fetchall()


async def get_for_update(conn: AsyncConnection, report_id: uuid.UUID) -> Report | None:
    cur = conn.cursor(row_factory=class_row(Report))
    await cur.execute(_REPORT + " WHERE id = %s FOR UPDATE", [report_id])
    return await cur.fetchone()


async def move(conn: AsyncConnection, report_id: uuid.UUID, status: str, outcome: str) -> None:
    await conn.execute(
        "UPDATE tenancy.reports SET status = %s, outcome = %s, updated_at = now() WHERE id = %s",
        [status, outcome, report_id],
    )


async def add_event(
    conn: AsyncConnection, report_id: uuid.UUID, actor: str, moved: tuple[str, str], note: str
) -> None:
    await conn.execute(
        "INSERT INTO tenancy.report_events (report_id, actor, from_status, to_status, note) VALUES (%s, %s, %s, %s, %s)",
        [report_id, actor, *moved, note],
    )


async def history(conn: AsyncConnection, report_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[ReportEvent]]:
    """The moves of each report, oldest first: none unless the caller is the operator (row-level security)."""
    cur = await conn.execute(
        "SELECT report_id, at, actor, from_status, to_status, note FROM tenancy.report_events"
        " WHERE report_id = ANY(%s) ORDER BY id",
        [report_ids],
    )
    found: dict[uuid.UUID, list[ReportEvent]] = {}
    for report_id, *event in await cur.fetchall():
        found.setdefault(report_id, []).append(ReportEvent(*event))
    return found
