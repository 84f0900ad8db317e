"""Two values for one (series, timestamp): the first stored wins; later ones are dropped and counted,
never silently, even when two batches race."""

from __future__ import annotations

import asyncio
import time
import uuid

import numpy as np
import psycopg

from services.ingest.storage import STORED_TIMESTAMPS
from services.runtime.blocks import BLOCK_SPAN_NS
from services.runtime.compaction import HOUR_NS
from services.runtime.settings import role_url
from sfcloud.v1 import ingest_pb2
from tests.e2e.provision import create_tenant, send_batches
from tests.e2e.test_blocks import read


def points(
    series_id: str, timestamps: np.ndarray, values: np.ndarray, batch_no: int = 1
) -> ingest_pb2.IngestRequest:
    return ingest_pb2.IngestRequest(
        batch_no=batch_no,
        series=[
            ingest_pb2.SeriesPoints(
                series_id=series_id, timestamps_ns=timestamps.tolist(), values=values.tolist()
            )
        ],
    )


def conflicts_counted(admin_conn, tenant_id) -> int:
    return admin_conn.execute(
        "SELECT coalesce(sum(conflicts), 0) FROM telemetry.usage_daily WHERE tenant_id = %s", [tenant_id]
    ).fetchone()[0]


async def test_first_write_wins_and_every_conflict_is_counted(stack, signer, admin_conn):
    """RELIABILITY D3: 1,000 changed values: the first stored wins, and the conflict counter rises by exactly 1,000."""
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Conflicts")
    timestamps = time.time_ns() - 10**12 + np.arange(1_000, dtype=np.int64) * 10**6
    first = await send_batches(
        stack.targets["ingest"],
        tenant.credential,
        [points(tenant.series_ids[0], timestamps, np.arange(1_000.0))],
    )
    changed = await send_batches(
        stack.targets["ingest"],
        tenant.credential,
        [points(tenant.series_ids[0], timestamps, np.arange(1_000.0) + 0.5)],
    )
    assert (first[0].points_stored, first[0].conflicts) == (1_000, 0)
    assert (changed[0].points_stored, changed[0].conflicts) == (0, 1_000)
    got_t, got_v = await read(stack, signer, tenant, tenant.series_ids[0])
    assert np.array_equal(got_t, timestamps) and np.array_equal(got_v, np.arange(1_000.0))
    assert conflicts_counted(admin_conn, tenant.id) == 1_000


async def test_a_repeated_timestamp_within_a_batch_keeps_the_first(stack, signer, admin_conn):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Conflicts in batch")
    t = time.time_ns() - 10**9
    acks = await send_batches(
        stack.targets["ingest"],
        tenant.credential,
        [points(tenant.series_ids[0], np.array([t, t, t + 1]), np.array([1.0, 2.0, 3.0]))],
    )
    assert (acks[0].points_stored, acks[0].conflicts) == (2, 1)
    assert (await read(stack, signer, tenant, tenant.series_ids[0]))[1].tolist() == [1.0, 3.0]


async def test_racing_batches_store_each_timestamp_once(stack, signer, admin_conn):
    """RELIABILITY D3: Racing writers of one series store each timestamp once; every loser is counted."""
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Conflicts race")
    timestamps = time.time_ns() - 10**12 + np.arange(500, dtype=np.int64) * 10**6
    requests = [points(tenant.series_ids[0], timestamps, np.full(500, float(n))) for n in range(4)]
    acks = await asyncio.gather(
        *(send_batches(stack.targets["ingest"], tenant.credential, [r]) for r in requests)
    )
    assert sum(a[0].points_stored for a in acks) == 500 and sum(a[0].conflicts for a in acks) == 1_500
    got_t, got_v = await read(stack, signer, tenant, tenant.series_ids[0])
    assert got_t.size == 500 and len(set(got_v.tolist())) == 1
    assert conflicts_counted(admin_conn, tenant.id) == 1_500


def blocks_visited(admin_url: str, tenant_id, series_id: str, lo: int, hi: int) -> tuple[int, int]:
    """(block rows PostgreSQL visited, payloads found) when the first-write check looks up [lo, hi]."""
    with psycopg.connect(role_url(admin_url, "sf_ingest", None)) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant_id)])
        params = [[uuid.UUID(series_id)], [lo], [hi], BLOCK_SPAN_NS]
        found = len(conn.execute(STORED_TIMESTAMPS, params).fetchall())
        plan = conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + STORED_TIMESTAMPS, params).fetchone()[0]

    def visited(node: dict) -> int:
        own = 0
        if node.get("Relation Name", "").startswith("blocks"):
            own = node["Actual Loops"] * node["Actual Rows"] + node.get("Rows Removed by Filter", 0)
        return own + sum(visited(child) for child in node.get("Plans", ()))

    return visited(plan[0]["Plan"]), found


async def test_a_batch_newer_than_everything_stored_reads_no_stored_block(stack, signer, admin_url):
    """The first-write check reads the stored blocks a batch's range overlaps. Live data, newer than all
    that is stored, overlaps none and reads none, however many blocks the series got this hour (it read
    every one: a batch cost more as the hour went on, one of the soak's findings). A batch over stored
    points still finds their blocks."""
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Lookups")
    series = tenant.series_ids[0]
    stamps = (time.time_ns() // HOUR_NS - 1) * HOUR_NS + np.arange(500, dtype=np.int64) * 10**6
    batches = [points(series, stamps[n : n + 1], np.array([1.0]), n + 1) for n in range(500)]
    assert (
        sum(a.points_stored for a in await send_batches(stack.targets["ingest"], tenant.credential, batches))
        == 500
    )
    assert blocks_visited(admin_url, tenant.id, series, int(stamps[-1]) + 1, int(stamps[-1]) + 10**9) == (
        0,
        0,
    )
    visited, found = blocks_visited(admin_url, tenant.id, series, int(stamps[250]), int(stamps[259]))
    assert found == 10 and visited >= 10
