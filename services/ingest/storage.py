"""Writing telemetry blocks: one row per series per batch, all in the caller's transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from psycopg import AsyncConnection

_COLUMNS = (
    "tenant_id, series_id, start_ns, end_ns, count, min_value, max_value, sum_value,"
    " first_value, last_value, payload"
)


@dataclass(frozen=True)
class Block:
    series_id: uuid.UUID
    start_ns: int
    end_ns: int
    count: int
    min_value: float
    max_value: float
    sum_value: float
    first_value: float
    last_value: float
    payload: bytes


async def write_blocks(conn: AsyncConnection, tenant_id: uuid.UUID, blocks: list[Block]) -> None:
    """One INSERT from arrays (COPY is not allowed on tables with row-level security)."""
    columns = list(
        zip(
            *(
                (
                    b.series_id,
                    b.start_ns,
                    b.end_ns,
                    b.count,
                    b.min_value,
                    b.max_value,
                    b.sum_value,
                    b.first_value,
                    b.last_value,
                    b.payload,
                )
                for b in blocks
            ),
            strict=True,
        )
    )
    await conn.execute(
        f"INSERT INTO telemetry.blocks ({_COLUMNS}) SELECT %s, * FROM unnest("  # noqa: S608 (constant columns)
        "%s::uuid[], %s::bigint[], %s::bigint[], %s::int[], %s::float8[], %s::float8[], %s::float8[],"
        " %s::float8[], %s::float8[], %s::bytea[])",
        [tenant_id, *(list(c) for c in columns)],
    )
