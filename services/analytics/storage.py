"""The analytics service's SQL: reading telemetry blocks (it never writes them)."""

from __future__ import annotations

import uuid
from datetime import date

from psycopg import AsyncConnection

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
        "SELECT id, start_ns, payload_chunks || payload_rest FROM telemetry.blocks WHERE series_id = %s AND start_ns < %s"
        " AND end_ns >= %s AND start_ns > %s AND (start_ns, id) > (%s, %s) ORDER BY start_ns, id LIMIT %s",
        [series_id, end_ns, start_ns, floor, after_start, after_id, limit],
    )
    return list(await cur.fetchall())


_BLOCKS = (
    "SELECT start_ns, end_ns, count, min_value, max_value, sum_value, first_value, last_value,"
    "   CASE WHEN NOT %(all)s AND nan_count = 0 AND start_ns >= %(lo)s AND end_ns < %(hi)s"
    "     AND CASE WHEN %(width)s::bigint > 0 THEN start_ns / %(width)s = end_ns / %(width)s"
    "       ELSE width_bucket(start_ns, %(cuts)s::bigint[]) = width_bucket(end_ns, %(cuts)s::bigint[]) END"
    "   THEN NULL ELSE payload_chunks || payload_rest END, NULL::bytea"
    " FROM telemetry.blocks b WHERE series_id = %(series)s AND start_ns < %(hi)s AND end_ns >= %(lo)s"
    "   AND start_ns > %(floor)s"
)
_ROLLED_UP = (  # a rollup of the given width for a whole hour inside the range
    " FROM telemetry.rollups r WHERE r.series_id = %(series)s AND r.width_ns = %(rollup)s"
    " AND r.hour_ns >= %(lo)s AND r.hour_ns <= %(hi)s - 3600000000000"
)
_BLOCKS_OR_ROLLUPS = (  # the hours with a rollup come as its row, the others as their blocks
    _BLOCKS
    + " AND NOT EXISTS (SELECT 1"
    + _ROLLED_UP
    + " AND r.hour_ns = b.start_ns - b.start_ns %% 3600000000000)"
    " UNION ALL SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, r.stats" + _ROLLED_UP
)


async def has_rollups(conn: AsyncConnection, series_id: uuid.UUID, width_ns: int, lo: int, hi: int) -> bool:
    """Whether the series has a rollup of this width for some whole hour inside ``[lo, hi)``."""
    cur = await conn.execute(
        "SELECT EXISTS (SELECT 1" + _ROLLED_UP + ")",
        {"series": series_id, "rollup": width_ns, "lo": lo, "hi": hi},
    )
    return (await cur.fetchone())[0]


async def block_statistics(
    conn: AsyncConnection,
    series_id: uuid.UUID,
    lo: int,
    hi: int,
    cuts: str,
    width: int,
    decode_all: bool,
    rollup_width: int | None = None,
) -> list[tuple]:
    """The blocks of a series overlapping ``[lo, hi)``, in no order, each as
    (start, end, count, min, max, sum, first, last, payload, None); with ``rollup_width``, each whole
    hour inside the range that has a rollup of that width comes instead as one row of Nones and its
    rollup's packed statistics (services/runtime/rollups.py).

    ``cuts`` is the bucket edges strictly inside the range, as a PostgreSQL array literal, or for
    buckets of a fixed ``width`` (> 0) aligned to its multiples, "{}". A block wholly inside the range,
    inside one bucket (no cut in ``(start_ns, end_ns]``: ``width_bucket`` counts the inner edges up to a
    time; with a fixed width, integer division says it quicker) and known to hold no NaN comes without its payload (NULL): its
    statistics answer for it, and its payload is never read out of TOAST. Every other block (all of
    them with ``decode_all``) comes with its payload. Bounded below as in ``block_chunk``. In no
    order: the caller buckets the rows anyway, and sorting a year's blocks is a third of the work.
    One statement rather than statistics first and payloads second: it needs no snapshot across
    statements (compaction may replace blocks in between) and, prepared, it is the quicker of the two.
    """
    cur = conn.cursor(binary=True)  # thousands of rows, and payloads: binary is quicker to parse
    await cur.execute(
        _BLOCKS_OR_ROLLUPS if rollup_width else _BLOCKS,
        {
            "all": decode_all,
            "lo": lo,
            "hi": hi,
            "cuts": cuts,
            "width": width,
            "series": series_id,
            "floor": lo - BLOCK_SPAN_NS,
            "rollup": rollup_width,
        },
    )
    return list(await cur.fetchall())


async def latest_points(
    conn: AsyncConnection, series_ids: list[uuid.UUID]
) -> list[tuple[uuid.UUID, int, float]]:
    """(series, time, value) of the newest point of each series that has one (ingest keeps them)."""
    cur = await conn.execute(
        "SELECT series_id, ts_ns, value FROM telemetry.series_latest WHERE series_id = ANY(%s::uuid[])",
        [series_ids],
    )
    return list(await cur.fetchall())


async def device_activity(conn: AsyncConnection) -> list[tuple]:
    """The activity rows of the tenant in context, with each device's metered totals (batches, points,
    conflicts) over all days."""
    cur = await conn.execute(
        "SELECT a.device_id, a.last_batch_at, a.last_point_ns, a.late_points, a.refused_batches,"
        " a.last_refusal_at, a.last_refusal_reason, a.last_refusal_message,"
        " coalesce(u.batches, 0), coalesce(u.points, 0), coalesce(u.conflicts, 0)"
        " FROM telemetry.device_activity a LEFT JOIN (SELECT device_id, sum(batches)::bigint AS batches,"
        " sum(points)::bigint AS points, sum(conflicts)::bigint AS conflicts FROM telemetry.usage_daily GROUP BY device_id) u"
        " ON u.device_id = a.device_id ORDER BY a.device_id"
    )
    return list(await cur.fetchall())


async def device_usage(conn: AsyncConnection, first: date, last: date) -> list[tuple]:
    """(device, day, points, bytes) of the tenant in context for each day from ``first`` to ``last`` it stored."""
    cur = await conn.execute(
        "SELECT device_id, day, points, bytes FROM telemetry.usage_daily"
        " WHERE day BETWEEN %s AND %s AND points > 0 ORDER BY day, device_id",
        [first, last],
    )
    return list(await cur.fetchall())


async def retention_notice(conn: AsyncConnection) -> tuple | None:
    """The standing retention notice of the tenant in context: (deletes_before_ns, oldest_end_ns,
    retention_days, plan_code, notice_ns, effective_ns, notified_at), if any."""
    cur = await conn.execute(
        "SELECT deletes_before_ns, oldest_end_ns, retention_days, plan_code, notice_ns, effective_ns,"
        " notified_at"
        " FROM telemetry.retention_notices"
    )
    return await cur.fetchone()
