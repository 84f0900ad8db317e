"""telemetry.blocks partitioned by week of start_ns: routing, the DEFAULT partition, preparing partitions
ahead, row-level security on every partition, and pruning."""

from __future__ import annotations

import time
import uuid

import psycopg
import pytest
from psycopg import sql

from services.ingest import partitions
from services.runtime.blocks import BLOCK_SPAN_NS
from services.runtime.settings import role_url
from tests.e2e.provision import create_tenant, send_batches
from tests.e2e.test_bad_input import batch

DAY_NS = 86400 * 10**9
NOW_NS = time.time_ns()
YEAR_1975_NS = 5 * 365 * DAY_NS
_INSERT = (
    "INSERT INTO telemetry.blocks (tenant_id, series_id, start_ns, end_ns, count, min_value, max_value,"
    " sum_value, first_value, last_value, payload_chunks) VALUES (%s, %s, %s, %s, 1, 0, 0, 0, 0, 0, 'x')"
)


@pytest.fixture(scope="module")
async def tenant(stack, signer):
    return await create_tenant(stack.targets["tenancy"], signer, "Partitions", series_count=4)


def _where(admin_conn, series_id: str) -> list[tuple[str, int]]:
    return admin_conn.execute(
        "SELECT tableoid::regclass::text, start_ns FROM telemetry.blocks WHERE series_id = %s ORDER BY start_ns",
        [series_id],
    ).fetchall()


async def test_blocks_land_in_the_partition_of_their_week(stack, tenant, admin_conn):
    times = [NOW_NS - 7 * DAY_NS, NOW_NS, NOW_NS + DAY_NS // 2]
    requests = [
        batch(s, [t], [1.0], batch_no=i + 1) for i, (s, t) in enumerate(zip(tenant.series_ids, times))
    ]
    acks = await send_batches(stack.targets["ingest"], tenant.credential, requests)
    assert sum(a.points_stored for a in acks) == 3
    for series_id, t in zip(tenant.series_ids, times):
        assert _where(admin_conn, series_id) == [(partitions.partition_name(t), t)]


async def test_a_block_outside_the_prepared_weeks_lands_in_default(stack, tenant, admin_conn):
    acks = await send_batches(
        stack.targets["ingest"], tenant.credential, [batch(tenant.series_ids[3], [YEAR_1975_NS], [1.0], 10)]
    )
    assert acks[0].points_stored == 1
    assert _where(admin_conn, tenant.series_ids[3]) == [("telemetry.blocks_default", YEAR_1975_NS)]
    far_future = 2**62  # beyond what ingest accepts, but the table itself never refuses a row
    admin_conn.execute(_INSERT, [tenant.id, uuid.uuid4(), far_future, far_future])
    assert admin_conn.execute(
        "SELECT tableoid::regclass::text FROM telemetry.blocks WHERE start_ns = %s", [far_future]
    ).fetchone() == ("telemetry.blocks_default",)


def test_ensure_partitions_is_idempotent_and_moves_rows_out_of_default(admin_conn):
    lo = 30 * 365 * DAY_NS  # around 1999-12: no other test prepares it
    series_id = uuid.uuid4()
    admin_conn.execute(_INSERT, [uuid.uuid4(), series_id, lo + DAY_NS, lo + DAY_NS])
    assert _where(admin_conn, series_id)[0][0] == "telemetry.blocks_default"
    assert partitions.ensure(admin_conn, lo, lo + 2 * partitions.WEEK_NS) == 3
    before = partitions.list_partitions(admin_conn)
    assert partitions.ensure(admin_conn, lo, lo + 2 * partitions.WEEK_NS) == 0
    assert partitions.list_partitions(admin_conn) == before
    assert _where(admin_conn, series_id) == [(partitions.partition_name(lo + DAY_NS), lo + DAY_NS)]
    prepared = [
        p
        for p in before
        if p.start_ns is not None and lo - partitions.WEEK_NS < p.start_ns <= lo + 2 * partitions.WEEK_NS
    ]
    assert [(p.name, p.end_ns - p.start_ns) for p in prepared] == [
        (partitions.partition_name(lo + i * partitions.WEEK_NS), partitions.WEEK_NS) for i in range(3)
    ]
    assert before[-1] == partitions.Partition("telemetry.blocks_default", None, None)


def test_migrate_keeps_four_weeks_ahead(admin_conn):
    names = {p.name for p in partitions.list_partitions(admin_conn)}
    for week in range(-1, 5):
        assert partitions.partition_name(NOW_NS + week * partitions.WEEK_NS) in names


def test_every_partition_has_the_parents_security(admin_conn):
    rows = admin_conn.execute(
        "SELECT c.oid::regclass::text, c.relrowsecurity, c.relforcerowsecurity, c.relowner::regrole::text,"
        " c.relacl::text[], (SELECT array_agg(ARRAY[polname, polcmd::text, pg_get_expr(polqual, polrelid)])"
        "  FROM pg_policy WHERE polrelid = c.oid)"
        " FROM pg_partition_tree('telemetry.blocks') t JOIN pg_class c ON c.oid = t.relid"
    ).fetchall()
    parent = next(r for r in rows if r[0] == "telemetry.blocks")
    assert parent[1:3] == (True, True) and parent[3] == "sf_owner" and parent[5]
    assert len(rows) >= 7  # the parent, DEFAULT and at least five weeks
    assert [r[0] for r in rows if r[1:] != parent[1:]] == []


async def test_a_partition_read_directly_shows_only_the_tenant_in_context(admin_url, tenant, stack):
    week = partitions.partition_name(NOW_NS)
    url = role_url(admin_url, "sf_analytics", None)
    with psycopg.connect(url) as conn:
        assert conn.execute(f"SELECT count(*) FROM {week}").fetchone()[0] == 0
    with psycopg.connect(url) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant.id)])
        assert conn.execute(f"SELECT count(*) FROM {week}").fetchone()[0] >= 1
        assert {t for (t,) in conn.execute(f"SELECT DISTINCT tenant_id FROM {week}")} == {tenant.id}


def _scanned(admin_conn, query: sql.Composable) -> set[str]:
    plan = admin_conn.execute(sql.SQL("EXPLAIN (FORMAT JSON) ") + query).fetchone()[0]
    found, todo = set(), [plan[0]["Plan"]]
    while todo:
        node = todo.pop()
        if "Relation Name" in node:
            found.add(
                f"{node['Schema']}.{node['Relation Name']}" if "Schema" in node else node["Relation Name"]
            )
        todo += node.get("Plans", [])
    return found


def test_a_series_over_a_time_range_reads_only_the_partitions_it_needs(admin_conn, tenant):
    monday = partitions.week_start_ns(NOW_NS)
    lo, hi = monday + DAY_NS, monday + 2 * DAY_NS
    series = sql.Literal(tenant.series_ids[1])
    in_week = sql.SQL(
        "SELECT payload_chunks || payload_rest FROM telemetry.blocks WHERE series_id = {} AND start_ns >= {} AND start_ns < {}"
    ).format(series, lo, hi)
    assert _scanned(admin_conn, in_week) == {partitions.partition_name(NOW_NS).split(".")[1]}
    # The range reads ask for overlapping blocks and, as a block lies within one hour, bound start_ns
    # from below too (services/runtime/blocks.py): only the range's own week is read.
    overlapping = sql.SQL(
        "SELECT payload_chunks || payload_rest FROM telemetry.blocks WHERE series_id = {} AND start_ns < {} AND end_ns >= {}"
        " AND start_ns > {}"
    ).format(series, hi, lo, lo - BLOCK_SPAN_NS)
    assert _scanned(admin_conn, overlapping) == {partitions.partition_name(NOW_NS).split(".")[1]}
