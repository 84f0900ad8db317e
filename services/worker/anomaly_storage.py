"""SQL of the worker's anomaly scoring (``analytics.anomaly_models``, ``analytics.anomalies``, migration
services/ingest/migrations/0019): a model's progress and the anomalies it finds, written in the tenant's
transaction; and the anomalies the alarm hook has not been told of yet."""

from __future__ import annotations

import uuid

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from services.analytics.anomaly.storage import StoredAnomaly


async def lock_model(conn: AsyncConnection, machine_id: uuid.UUID) -> int | None:
    """Lock the machine's model row for this transaction; its scored_until_ns (None: it is gone)."""
    cur = await conn.execute(
        "SELECT scored_until_ns FROM analytics.anomaly_models WHERE machine_id = %s FOR UPDATE", [machine_id]
    )
    row = await cur.fetchone()
    return row[0] if row else None


async def save_progress(
    conn: AsyncConnection, machine_id: uuid.UUID, state: dict, scored_until_ns: int
) -> None:
    await conn.execute(
        "UPDATE analytics.anomaly_models SET state = %s, scored_until_ns = %s WHERE machine_id = %s",
        [Jsonb(state), scored_until_ns, machine_id],
    )


async def put_anomaly(
    conn: AsyncConnection,
    tenant_id: uuid.UUID,
    anomaly_id: int | None,
    machine_id: uuid.UUID,
    span: tuple[int, int | None],
    series_ids: list[uuid.UUID],
    peak: float,
    threshold: float,
) -> int:
    """Insert a new anomaly (``anomaly_id`` None) or bring a stored one up to date; its id."""
    start_ns, end_ns = span
    if anomaly_id is None:
        cur = await conn.execute(
            "INSERT INTO analytics.anomalies (tenant_id, machine_id, start_ns, end_ns, series_ids, peak_score,"
            " threshold) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
            [tenant_id, machine_id, start_ns, end_ns, series_ids, peak, threshold],
        )
        return (await cur.fetchone())[0]
    await conn.execute(
        "UPDATE analytics.anomalies SET end_ns = %s, series_ids = %s, peak_score = %s WHERE id = %s",
        [end_ns, series_ids, peak, anomaly_id],
    )
    return anomaly_id


async def unreported(conn: AsyncConnection) -> list[tuple[StoredAnomaly, bool]]:
    """Anomalies whose start or end the alarm hook has not been told of: (anomaly, raised already)."""
    cur = await conn.execute(
        "SELECT id, machine_id, start_ns, end_ns, series_ids, peak_score, threshold, raised"
        " FROM analytics.anomalies WHERE NOT raised OR (end_ns IS NOT NULL AND NOT cleared) ORDER BY id"
    )
    return [(StoredAnomaly(*row[:7]), row[7]) for row in await cur.fetchall()]


async def mark_reported(conn: AsyncConnection, anomaly_id: int, cleared: bool) -> None:
    """The hook has been told of the anomaly's start, and of its end when ``cleared``."""
    await conn.execute(
        "UPDATE analytics.anomalies SET raised = true, cleared = %s WHERE id = %s", [cleared, anomaly_id]
    )
