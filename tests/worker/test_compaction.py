"""Compaction of one (series, hour): fewer, larger blocks with the same points, counts and sums; late points
merged on the next pass; the first stored value of a timestamp kept; a second pass a no-op; the series lock
shared with ingest; row-level security as for every other service."""

from __future__ import annotations

import asyncio
import tracemalloc
import uuid

import numpy as np
import psycopg
import pytest

import tscodec
from services.runtime.blocks import INSERT, encode_block, insert_params
from services.runtime.compaction import DUE_KEY, HOUR_NS
from services.runtime.rollups import MINUTE_NS, unpack
from services.runtime.settings import role_url
from services.worker.merging import HourRework
from services.worker.service import CompactionService, Outcome
from tests.worker.conftest import (
    block_counts,
    closed_hour,
    day_totals,
    hour_points,
    job,
    send_in_batches,
    stored_points,
)


async def test_small_blocks_become_few_large_ones_with_identical_points(
    stack, tenant, compactor, admin_conn, redis_client
):
    s0, s1 = tenant.series_ids[:2]
    hours = [closed_hour(5), closed_hour(4)]
    for seed, (series, hour) in enumerate([(s0, hours[0]), (s0, hours[1]), (s1, hours[0])]):
        timestamps, values = hour_points(hour, 1_000, seed)
        await send_in_batches(stack, tenant, series, timestamps, values, per_batch=40)
    before_points = {s: stored_points(admin_conn, s) for s in (s0, s1)}
    before_totals = day_totals(admin_conn, tenant.id)
    assert len(block_counts(admin_conn, s0)) == 50
    # ingest announced each hour once, due when it closed
    assert await redis_client.zscore(DUE_KEY, job(tenant, s0, hours[0]).member) is not None

    outcomes = [
        await compactor.compact(job(tenant, s, h))
        for s, h in [(s0, hours[0]), (s0, hours[1]), (s1, hours[0])]
    ]

    assert outcomes == [Outcome(merged=25, written=4, rollups=1)] * 3  # an hour of 4 blocks gets a rollup
    assert block_counts(admin_conn, s0) == [256, 256, 256, 232] * 2
    for series in (s0, s1):
        got_t, got_v = stored_points(admin_conn, series)
        want_t, want_v = before_points[series]
        assert np.array_equal(got_t, want_t) and np.array_equal(got_v.view(np.int64), want_v.view(np.int64))
    assert day_totals(admin_conn, tenant.id) == before_totals
    ids = admin_conn.execute(
        "SELECT id FROM telemetry.blocks WHERE tenant_id = %s ORDER BY id", [tenant.id]
    ).fetchall()
    # twice is once
    assert await compactor.compact(job(tenant, s0, hours[0])) == Outcome()
    assert (
        admin_conn.execute(
            "SELECT id FROM telemetry.blocks WHERE tenant_id = %s ORDER BY id", [tenant.id]
        ).fetchall()
        == ids
    )


async def test_an_hour_read_a_block_at_a_time_compacts_as_read_whole(stack, tenant, worker_cells, admin_conn):
    """An hour's payloads are read in groups of about ``read_bytes`` (its payloads are hundreds of MB at fast
    rates): one block a group gives the same blocks and points."""
    series, hour = tenant.series_ids[1], closed_hour(11)
    timestamps, values = hour_points(hour, 1_000, 12)
    await send_in_batches(stack, tenant, series, timestamps, values, per_batch=40)
    before = stored_points(admin_conn, series)
    block_at_a_time = CompactionService(worker_cells, target_points=256, read_bytes=1)
    assert await block_at_a_time.compact(job(tenant, series, hour)) == Outcome(
        merged=25, written=4, rollups=1
    )
    assert block_counts(admin_conn, series) == [256, 256, 256, 232]
    got_t, got_v = stored_points(admin_conn, series)
    assert np.array_equal(got_t, before[0]) and np.array_equal(got_v.view(np.int64), before[1].view(np.int64))


async def test_a_fast_hour_is_compacted_holding_a_group_of_payloads_not_the_hours(
    tenant, worker_cells, admin_conn
):
    """3,000,000 points in 3,000 stored blocks (~5 MB compressed) read 256 kB at a time: under 5 MB held at
    once. Reading the hour's payloads in one statement and inserting its merged blocks at the end held
    6 times the hour's payload bytes (127 MB for an 18.6 MB hour)."""
    series, hour = uuid.UUID(tenant.series_ids[0]), closed_hour(12)
    rng = np.random.default_rng(13)
    step = HOUR_NS // 3_000_000
    for first in range(0, 3_000_000, 300_000):
        timestamps = hour * HOUR_NS + step * np.arange(first, first + 300_000, dtype=np.int64)
        values = np.round(rng.normal(50, 10, timestamps.size), 2)
        blocks = [
            encode_block(series, t, v) for t, v in zip(np.split(timestamps, 300), np.split(values, 300))
        ]
        admin_conn.execute(INSERT, insert_params(tenant.id, blocks))
    compactor = CompactionService(worker_cells, target_points=4096, read_bytes=256 * 2**10)
    tracemalloc.start()
    try:
        outcome = await compactor.compact(job(tenant, str(series), hour))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert outcome == Outcome(merged=3_000, written=733, rollups=2)
    assert peak < 5 * 2**20, f"{peak / 2**20:.1f} MB held at once"


async def test_statistics_columns_are_those_ingest_computes(stack, tenant, compactor, admin_conn):
    series, hour = tenant.series_ids[0], closed_hour(6)
    timestamps, values = hour_points(hour, 300, 7)
    values[5] = np.nan
    await send_in_batches(stack, tenant, series, timestamps, values, per_batch=30)
    await compactor.compact(job(tenant, series, hour))
    rows = admin_conn.execute(
        "SELECT start_ns, end_ns, count, min_value, max_value, sum_value, first_value, last_value, nan_count,"
        " payload_chunks || payload_rest"
        " FROM telemetry.blocks WHERE series_id = %s ORDER BY start_ns",
        [series],
    ).fetchall()
    for row in rows:
        made = encode_block(uuid.UUID(series), *tscodec.decode(row[-1]))
        want = (made.start_ns, made.end_ns, made.count, made.min_value, made.max_value, made.sum_value)
        want += (made.first_value, made.last_value, made.nan_count)
        assert np.array_equal(np.array(row[:9], dtype=float), np.array(want, dtype=float), equal_nan=True)
    assert sum(row[8] for row in rows) == 1


async def test_late_out_of_order_points_land_in_their_own_block_and_merge_next_pass(
    stack, tenant, compactor, admin_conn, redis_client
):
    series, hour = tenant.series_ids[0], closed_hour(3)
    timestamps, values = hour_points(hour, 600, 3, step_ns=4 * 10**9)
    await send_in_batches(stack, tenant, series, timestamps, values, per_batch=60)
    assert await compactor.compact(job(tenant, series, hour)) == Outcome(merged=10, written=3, rollups=1)
    assert rollup_hours(admin_conn, series) == [hour * HOUR_NS]
    await redis_client.zrem(DUE_KEY, job(tenant, series, hour).member)  # as a worker would have taken it

    late_t = (timestamps[::-7] + 2 * 10**9)[:50]  # between stored points, sent newest first
    late_v = np.arange(50) / 8
    await send_in_batches(stack, tenant, series, late_t, late_v, per_batch=25)
    assert len(block_counts(admin_conn, series)) == 5
    assert rollup_hours(admin_conn, series) == []  # ingest deleted the hour's rollup with its late blocks
    assert await redis_client.zscore(DUE_KEY, job(tenant, series, hour).member) is not None  # announced again

    assert await compactor.compact(job(tenant, series, hour)) == Outcome(merged=5, written=3, rollups=1)
    assert rollup_hours(admin_conn, series) == [hour * HOUR_NS]
    got_t, got_v = stored_points(admin_conn, series)
    want_t = np.concatenate([timestamps, late_t])
    want_v = np.concatenate([values, late_v])
    order = np.argsort(want_t)
    assert np.array_equal(got_t, want_t[order]) and np.array_equal(got_v, want_v[order])
    assert block_counts(admin_conn, series) == [256, 256, 138]


async def test_a_timestamp_stored_twice_keeps_the_first_stored_value(tenant, compactor, admin_conn):
    """Ingest never stores a second value (first write wins); blocks written otherwise follow the same rule."""
    series, hour = uuid.UUID(tenant.series_ids[2]), closed_hour(7)
    timestamps = hour * HOUR_NS + np.arange(10, dtype=np.int64) * 10**9
    for values in (np.full(10, 1.0), np.full(10, 2.0), np.arange(10.0)):  # stored in this order
        block = encode_block(series, timestamps, values)
        admin_conn.execute(INSERT, insert_params(tenant.id, [block]))
    assert await compactor.compact(job(tenant, str(series), hour)) == Outcome(merged=3, written=1)
    got_t, got_v = stored_points(admin_conn, series)
    assert np.array_equal(got_t, timestamps) and np.array_equal(got_v, np.full(10, 1.0))


async def test_a_series_ingest_or_another_worker_holds_is_left_for_later(stack, tenant, compactor, admin_url):
    series, hour = tenant.series_ids[1], closed_hour(8)
    timestamps, values = hour_points(hour, 100, 9)
    await send_in_batches(stack, tenant, series, timestamps, values, per_batch=10)
    with psycopg.connect(role_url(admin_url, "sf_ingest", None)) as writer:  # ingest's own lock statement
        writer.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(id::text, 0)) FROM unnest(%s::uuid[]) AS s(id)",
            [[series]],
        )
        assert await compactor.compact(job(tenant, series, hour)) == Outcome(busy=True)
    assert await compactor.compact(job(tenant, series, hour)) == Outcome(merged=10, written=1)


async def test_the_series_stays_writable_while_an_hour_is_merged_and_a_late_block_waits_for_the_next_pass(
    stack, tenant, compactor, admin_conn, admin_url, monkeypatch
):
    """Merging a fast hour takes seconds, and ingest's writers of the series (in its current hour) must not
    wait that long: the series' lock is taken only for the swap. A block that arrived in the hour meanwhile
    leaves the hour for the next pass, which merges it too."""
    series, hour = tenant.series_ids[2], closed_hour(10)
    timestamps, values = hour_points(hour, 100, 11)
    await send_in_batches(stack, tenant, series, timestamps, values, per_batch=10)
    merging = HourRework.feed

    def feed_as_a_late_block_arrives(self, group):
        with psycopg.connect(admin_url, autocommit=True) as writer:  # the lock is free during the merge
            assert writer.execute(
                "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", [series]
            ).fetchone()[0]
            writer.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [series])
        late = encode_block(uuid.UUID(series), np.array([hour * HOUR_NS + 5]), np.array([0.25]))
        admin_conn.execute(INSERT, insert_params(tenant.id, [late]))
        return merging(self, group)

    monkeypatch.setattr(HourRework, "feed", feed_as_a_late_block_arrives)
    assert await compactor.compact(job(tenant, series, hour)) == Outcome(busy=True)
    assert len(block_counts(admin_conn, series)) == 11  # nothing swapped, the merged block rolled back
    monkeypatch.setattr(HourRework, "feed", merging)
    assert await compactor.compact(job(tenant, series, hour)) == Outcome(merged=11, written=1)
    assert block_counts(admin_conn, series) == [101]


async def test_an_hour_another_worker_swaps_while_it_is_read_is_left_for_a_later_pass(
    stack, tenant, worker_cells, admin_conn, monkeypatch
):
    """The hour is read without a lock: a second worker (a job taken over) may swap it in between. The
    first then misses blocks it listed, rolls back what it merged and answers busy; its retry finds the
    hour done."""
    series, hour = tenant.series_ids[0], closed_hour(14)
    timestamps, values = hour_points(hour, 1_000, 15)
    await send_in_batches(stack, tenant, series, timestamps, values, per_batch=40)
    loop, other = asyncio.get_running_loop(), CompactionService(worker_cells, target_points=256)
    merging, swapped = HourRework.feed, []

    def feed_as_another_worker_swaps(self, group):
        if not swapped:  # the other worker's own feeding comes back here: it merges plainly
            swapped.append(None)
            swapped[0] = asyncio.run_coroutine_threadsafe(
                other.compact(job(tenant, series, hour)), loop
            ).result(30)
        return merging(self, group)

    monkeypatch.setattr(HourRework, "feed", feed_as_another_worker_swaps)
    block_at_a_time = CompactionService(worker_cells, target_points=256, read_bytes=1)
    assert await block_at_a_time.compact(job(tenant, series, hour)) == Outcome(busy=True)
    assert swapped == [Outcome(merged=25, written=4, rollups=1)]
    assert block_counts(admin_conn, series) == [256, 256, 256, 232]  # the other's blocks, none of ours
    monkeypatch.setattr(HourRework, "feed", merging)
    assert await block_at_a_time.compact(job(tenant, series, hour)) == Outcome()


def test_the_worker_role_sees_blocks_only_inside_its_tenant(admin_url, tenant, admin_conn):
    other = uuid.uuid4()
    series = uuid.UUID(tenant.series_ids[0])
    block = encode_block(series, np.array([closed_hour(9) * HOUR_NS]), np.array([1.5]))
    admin_conn.execute(INSERT, insert_params(tenant.id, [block]))
    with psycopg.connect(role_url(admin_url, "sf_worker", None)) as conn:
        assert conn.execute("SELECT count(*) FROM telemetry.blocks").fetchone()[0] == 0
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", [str(other)])
        assert conn.execute("SELECT count(*) FROM telemetry.blocks").fetchone()[0] == 0
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant.id)])
        assert conn.execute("SELECT count(*) FROM telemetry.blocks").fetchone()[0] >= 1
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # the worker may not update blocks
            conn.execute("UPDATE telemetry.blocks SET count = count")


def rollup_hours(admin_conn, series: str) -> list[int]:
    return [
        row[0]
        for row in admin_conn.execute(
            "SELECT hour_ns FROM telemetry.rollups WHERE series_id = %s ORDER BY hour_ns", [series]
        )
    ]


async def test_a_fast_hour_gets_minute_and_hour_rollups_and_a_slow_one_none(
    stack, tenant, compactor, admin_conn
):
    fast, slow, hour = tenant.series_ids[1], tenant.series_ids[2], closed_hour(13)
    timestamps, values = hour_points(hour, 60_000, 5, step_ns=HOUR_NS // 60_000)  # ~17 Hz, 12 blocks
    await send_in_batches(stack, tenant, fast, timestamps, values, per_batch=5_000)
    assert await compactor.compact(job(tenant, fast, hour)) == Outcome(rollups=2)  # big blocks: no merge
    rows = dict(
        admin_conn.execute(
            "SELECT width_ns, stats FROM telemetry.rollups WHERE series_id = %s", [fast]
        ).fetchall()
    )
    minutes = unpack(rows[MINUTE_NS])
    assert minutes["count"].tolist() == [1_000] * 60
    assert minutes["sum"].tolist() == [values[i : i + 1_000].sum() for i in range(0, 60_000, 1_000)]
    assert unpack(rows[HOUR_NS])[["count", "min", "max", "first", "last"]].tolist() == [
        (60_000, values.min(), values.max(), values[0], values[-1])
    ]
    assert await compactor.compact(job(tenant, fast, hour)) == Outcome()  # current: nothing to do

    t, v = hour_points(hour, 60, 6)
    await send_in_batches(stack, tenant, slow, t, v, per_batch=60)
    assert await compactor.compact(job(tenant, slow, hour)) == Outcome()  # one block: its statistics suffice
    assert rollup_hours(admin_conn, slow) == []
