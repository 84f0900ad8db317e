"""SQL of anomaly detection in analytics: models written when fitted, models and anomalies read
(``analytics.anomaly_models`` and ``analytics.anomalies``, migration services/ingest/migrations/0019).
Every statement runs in a tenant transaction; row-level security keeps each tenant to its own rows."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

_MODEL_COLUMNS = (
    "machine_id, series_ids, step_ns, reference_start_ns, reference_end_ns, reference_rows, model, state,"
    " scored_until_ns, trained_at"
)


@dataclass(frozen=True)
class StoredModel:
    machine_id: uuid.UUID
    series_ids: list[uuid.UUID]
    step_ns: int
    reference_start_ns: int
    reference_end_ns: int
    reference_rows: int
    model: dict
    state: dict
    scored_until_ns: int
    trained_at: datetime


@dataclass(frozen=True)
class StoredAnomaly:
    id: int
    machine_id: uuid.UUID
    start_ns: int
    end_ns: int | None
    series_ids: list[uuid.UUID]
    peak_score: float
    threshold: float


async def put_model(conn: AsyncConnection, tenant_id: uuid.UUID, m: StoredModel) -> None:
    """Store the machine's model, replacing an earlier one."""
    await conn.execute(
        f"INSERT INTO analytics.anomaly_models (tenant_id, {_MODEL_COLUMNS})"  # noqa: S608 (constant columns)
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (tenant_id, machine_id) DO UPDATE SET series_ids = excluded.series_ids,"
        " step_ns = excluded.step_ns, reference_start_ns = excluded.reference_start_ns,"
        " reference_end_ns = excluded.reference_end_ns, reference_rows = excluded.reference_rows,"
        " model = excluded.model, state = excluded.state, scored_until_ns = excluded.scored_until_ns,"
        " trained_at = excluded.trained_at",
        [
            tenant_id, m.machine_id, m.series_ids, m.step_ns, m.reference_start_ns, m.reference_end_ns,
            m.reference_rows, Jsonb(m.model), Jsonb(m.state), m.scored_until_ns, m.trained_at,
        ],
    )  # fmt: skip


async def model(conn: AsyncConnection, machine_id: uuid.UUID) -> StoredModel | None:
    cur = await conn.execute(
        f"SELECT {_MODEL_COLUMNS} FROM analytics.anomaly_models WHERE machine_id = %s",  # noqa: S608 (constant)
        [machine_id],
    )
    row = await cur.fetchone()
    return StoredModel(*row) if row else None


async def models(conn: AsyncConnection) -> list[StoredModel]:
    """Every model of the tenant (the worker's pass)."""
    cur = await conn.execute(f"SELECT {_MODEL_COLUMNS} FROM analytics.anomaly_models ORDER BY machine_id")  # noqa: S608
    return [StoredModel(*row) for row in await cur.fetchall()]


async def anomalies(
    conn: AsyncConnection,
    machine_id: uuid.UUID | None,
    start_ns: int,
    end_ns: int,
    after: tuple,
    limit: int,
) -> list[StoredAnomaly]:
    """The anomalies overlapping [start_ns, end_ns) (an ongoing one reaches to now), newest first, below
    the (start_ns, id) key ``after`` (Nones: from the newest)."""
    cur = await conn.execute(
        "SELECT id, machine_id, start_ns, end_ns, series_ids, peak_score, threshold FROM analytics.anomalies"
        " WHERE (%(machine)s::uuid IS NULL OR machine_id = %(machine)s) AND start_ns < %(hi)s"
        " AND coalesce(end_ns, 9223372036854775807) > %(lo)s"
        " AND (%(at)s::bigint IS NULL OR (start_ns, id) < (%(at)s, %(id)s::bigint))"
        " ORDER BY start_ns DESC, id DESC LIMIT %(limit)s",
        {"machine": machine_id, "lo": start_ns, "hi": end_ns, "at": after[0], "id": after[1], "limit": limit},
    )
    return [StoredAnomaly(*row) for row in await cur.fetchall()]


def anomaly_message(event: str, anomaly: StoredAnomaly) -> str:
    """A message of a tenant's anomaly channel: "started" or "ended", and the anomaly as stored."""
    fields = asdict(anomaly) | {
        "machine_id": str(anomaly.machine_id),
        "series_ids": [str(s) for s in anomaly.series_ids],
    }
    return json.dumps({"event": event, "anomaly": fields})
