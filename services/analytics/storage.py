"""The analytics service's SQL: reading telemetry blocks (it never writes them)."""

from __future__ import annotations

import uuid

from psycopg import AsyncConnection

from services.analytics.queries import HEADER_PREFIX_BYTES
from services.runtime.blocks import BLOCK_SPAN_NS


async def block_chunk(
    conn: AsyncConnection,
    series_id: uuid.UUID,
    start_ns: int,
    end_ns: int,
    after: tuple[int, int] | None,
    limit: int,
) -> list[tuple[int, int, bytes]]:
    """The next ``limit`` blocks of a series overlapping [start_ns, end_ns) after the key ``after``
    (``(start_ns, id)`` of the last block of the previous chunk; None for the first), as
    (id, start_ns, payload) in key order. The primary key ``(tenant_id, series_id, start_ns, id)`` serves
    the order and the keyset bound, so a chunk reads only its own rows.

    No block overlapping the range starts before ``start_ns - BLOCK_SPAN_NS`` (services/runtime/blocks.py):
    the bound lets PostgreSQL skip the partitions and index entries of everything older.
    """
    floor = start_ns - BLOCK_SPAN_NS
    after_start, after_id = after or (floor, 0)
    cur = conn.cursor(binary=True)
    await cur.execute(
        "SELECT id, start_ns, payload FROM telemetry.blocks WHERE series_id = %s AND start_ns < %s"
        " AND end_ns >= %s AND start_ns > %s AND (start_ns, id) > (%s, %s) ORDER BY start_ns, id LIMIT %s",
        [series_id, end_ns, start_ns, floor, after_start, after_id, limit],
    )
    return list(await cur.fetchall())


async def block_statistics(
    conn: AsyncConnection, series_id: uuid.UUID, lo: int, hi: int, cuts: str, decode_all: bool
) -> list[tuple]:
    """The blocks of a series overlapping ``[lo, hi)``, oldest first, each as
    (id, start, end, count, min, max, sum, first, last, head, payload).

    ``cuts`` is the bucket edges strictly inside the range, as a PostgreSQL array literal. A block
    wholly inside the range and inside one bucket (no cut in ``(start_ns, end_ns]``;
    ``width_bucket`` counts the inner edges up to a time) comes with ``head``, the first bytes of its
    payload (enough for the tscodec header), and no payload; every other block (all of them with
    ``decode_all``) comes with its payload and no head. Bounded below as in ``block_chunk``.
    """
    cur = conn.cursor(binary=True)  # thousands of rows: binary is quicker to parse
    await cur.execute(
        "SELECT id, start_ns, end_ns, count, min_value, max_value, sum_value, first_value, last_value,"
        "   CASE WHEN inside THEN substring(payload FROM 1 FOR %(head)s) END,"
        "   CASE WHEN inside THEN NULL ELSE payload END"
        " FROM (SELECT b.*, NOT %(all)s AND b.start_ns >= %(lo)s AND b.end_ns < %(hi)s"
        "     AND width_bucket(b.start_ns, e.cuts) = width_bucket(b.end_ns, e.cuts) AS inside"
        "   FROM telemetry.blocks b CROSS JOIN (SELECT %(cuts)s::bigint[] AS cuts) e"
        "   WHERE b.series_id = %(series)s AND b.start_ns < %(hi)s AND b.end_ns >= %(lo)s"
        "     AND b.start_ns > %(floor)s) blocks"
        " ORDER BY start_ns, id",
        {
            "head": HEADER_PREFIX_BYTES,
            "all": decode_all,
            "lo": lo,
            "hi": hi,
            "cuts": cuts,
            "series": series_id,
            "floor": lo - BLOCK_SPAN_NS,
        },
    )
    return list(await cur.fetchall())


async def payloads_by_id(
    conn: AsyncConnection, series_id: uuid.UUID, ids: list[int], start_ns: int, end_ns: int
) -> list[bytes]:
    """The payloads of the given blocks of a series that still exist (they overlap [start_ns, end_ns))."""
    cur = await conn.execute(
        "SELECT payload FROM telemetry.blocks WHERE series_id = %s AND id = ANY(%s::bigint[])"
        " AND start_ns < %s AND start_ns > %s ORDER BY start_ns, id",
        [series_id, ids, end_ns, start_ns - BLOCK_SPAN_NS],
    )
    return [row[0] for row in await cur.fetchall()]


_LATEST = (
    "SELECT s.id, b.end_ns, b.last_value FROM unnest(%(ids)s::uuid[]) AS s(id)"
    " CROSS JOIN LATERAL (SELECT end_ns, last_value FROM telemetry.blocks"
    "   WHERE series_id = s.id {} ORDER BY end_ns DESC, id DESC LIMIT 1) b"
)
_ANY_TIME = _LATEST.format("")
_RECENT = _LATEST.format("AND end_ns > %(since)s AND start_ns > %(since)s - %(span)s")


async def latest_points(
    conn: AsyncConnection, series_ids: list[uuid.UUID], since_ns: int | None = None
) -> list[tuple[uuid.UUID, int, float]]:
    """(series, time, value) of the newest point of each series that has one (one newer than ``since_ns``).

    With ``since_ns`` only blocks ending after it are looked at; as a block spans at most an hour they
    all start after ``since_ns - BLOCK_SPAN_NS``, so PostgreSQL reads only the newest partitions.
    """
    query = _ANY_TIME if since_ns is None else _RECENT
    cur = await conn.execute(query, {"ids": series_ids, "since": since_ns, "span": BLOCK_SPAN_NS})
    return list(await cur.fetchall())


async def device_activity(conn: AsyncConnection) -> list[tuple]:
    """The activity rows of the tenant in context."""
    cur = await conn.execute(
        "SELECT device_id, last_batch_at, last_point_ns, late_points, refused_batches, last_refusal_at,"
        " last_refusal_reason, last_refusal_message FROM telemetry.device_activity ORDER BY device_id"
    )
    return list(await cur.fetchall())
