"""Aggregates and chart columns: block statistics where a block lies inside one bucket, decoded edges,
calendar days across daylight-saving changes, and bad input refused with its status while serving on."""

from __future__ import annotations

import math
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import grpc
import numpy as np
import pytest

from services.runtime import rollups
from services.runtime.blocks import encode_block
from sfcloud.v1 import common_pb2, query_pb2
from tests.analytics.helpers import assert_refused, drain, split_blocks, write_blocks, write_rollup, write_row
from tests.e2e.provision import create_tenant

S = 10**9
MINUTE, HOUR, DAY = 60 * S, 3600 * S, 86400 * S
HOUR0 = 1_790_000_000 // 3600 * HOUR  # an hour boundary in 2026


def ns(text: str, zone: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp()) * S


async def test_blocks_inside_a_bucket_are_served_from_statistics_and_straddlers_decoded(
    query, tenant, admin_conn, series_maker
):
    series = await series_maker.new()
    inside = encode_block(series, HOUR0 + np.arange(10, 20, dtype=np.int64) * MINUTE, np.arange(10.0))
    straddler = encode_block(series, HOUR0 + np.arange(25, 35, dtype=np.int64) * MINUTE, np.arange(10.0))
    # Statistics that disagree with the payload show which of the two a query used.
    write_row(admin_conn, tenant.id, inside, sum_value=1000.0, max_value=99.0)
    write_row(admin_conn, tenant.id, straddler, sum_value=-1000.0)
    buckets = await query.aggregate(series, HOUR0, HOUR0 + HOUR, bucket_ns=30 * MINUTE)
    assert [b.start_ns for b in buckets] == [HOUR0, HOUR0 + 30 * MINUTE]
    assert [b.count for b in buckets] == [15, 5]
    assert buckets[0].sum == 1000.0 + sum(range(5)) and buckets[0].max == 99.0
    assert buckets[1].sum == sum(range(5, 10)) and buckets[1].max == 9.0
    assert (buckets[0].first_ts, buckets[0].first) == (HOUR0 + 10 * MINUTE, 0.0)
    assert (buckets[0].last_ts, buckets[0].last) == (HOUR0 + 29 * MINUTE, 4.0)
    assert not buckets[0].HasField("stddev")
    exact = await query.aggregate(series, HOUR0, HOUR0 + HOUR, bucket_ns=30 * MINUTE, with_stddev=True)
    assert exact[0].sum == sum(range(10)) + sum(range(5)) and exact[0].max == 9.0  # everything decoded
    assert exact[1].stddev == pytest.approx(np.std(np.arange(5.0, 10.0)))
    columns = await query.chart(series, HOUR0, HOUR0 + HOUR, 2)
    assert columns[0].max == 99.0 and not columns[0].HasField("max_ts")
    assert columns[1].HasField("max_ts") and (columns[1].max_ts, columns[1].max) == (HOUR0 + 34 * MINUTE, 9.0)


async def test_a_long_chart_cuts_its_columns_at_whole_hours_and_decodes_no_hourly_block(
    query, tenant, admin_conn, series_maker
):
    """Columns of 8.4 hours: inner edges rounded to whole UTC hours, so each hour's block lies inside one
    column and its (here lying) statistics answer for it; only the range's two ends are decoded."""
    series = await series_maker.new()
    hours = 7 * 24
    for h in range(hours):
        block = encode_block(series, HOUR0 + h * HOUR + np.arange(60, dtype=np.int64) * MINUTE, np.ones(60))
        write_row(admin_conn, tenant.id, block, max_value=99.0)
    lo, hi = HOUR0 + 17 * MINUTE, HOUR0 + hours * HOUR - 5 * MINUTE
    columns = await query.chart(series, lo, hi, 20)
    assert columns[0].start_ns == lo and all(c.start_ns % HOUR == 0 for c in columns[1:])
    assert [c.max for c in columns] == [99.0] * 20
    middle = columns[1:-1]  # statistics alone: no extreme's time known
    assert not any(c.HasField("min_ts") or c.HasField("max_ts") for c in middle)
    assert columns[0].min_ts == lo  # the hour straddling lo was decoded: its first point holds the minimum
    assert (columns[0].first_ts, columns[-1].last_ts) == (lo, hi - MINUTE)


async def test_a_block_with_nan_values_is_decoded_so_nan_counts_nowhere(
    query, tenant, admin_conn, series_maker
):
    series = await series_maker.new()
    values = np.array([1.0, np.nan, 3.0, np.nan])
    write_blocks(
        admin_conn, tenant.id, series, HOUR0 + np.arange(4, dtype=np.int64) * S, values, [slice(0, 4)]
    )
    [bucket] = await query.aggregate(series, HOUR0, HOUR0 + HOUR, bucket_ns=HOUR)
    assert (bucket.count, bucket.sum, bucket.first, bucket.last) == (2, 4.0, 1.0, 3.0)
    assert bucket.last_ts == HOUR0 + 2 * S


@pytest.mark.parametrize(
    ("zone", "calendar", "starts"),
    [
        ("Europe/Berlin", query_pb2.CALENDAR_BUCKET_DAY, ["2026-03-28", "2026-03-29", "2026-03-30"]),
        ("Europe/Berlin", query_pb2.CALENDAR_BUCKET_WEEK, ["2026-03-23", "2026-03-30"]),
        ("Asia/Kolkata", query_pb2.CALENDAR_BUCKET_DAY, ["2026-03-28", "2026-03-29", "2026-03-30"]),
    ],
)
async def test_calendar_buckets_start_at_local_midnight_across_daylight_saving(
    query, tenant, admin_conn, series_maker, zone, calendar, starts
):
    series = await series_maker.new()
    lo, hi = ns("2026-03-28T00:00", zone), ns("2026-03-31T00:00", zone)
    timestamps = np.arange(lo, hi, HOUR, dtype=np.int64)
    write_blocks(
        admin_conn, tenant.id, series, timestamps, np.ones(timestamps.size), split_blocks(timestamps, set())
    )
    buckets = await query.aggregate(series, lo, hi, calendar=calendar, time_zone=zone)
    assert [b.start_ns for b in buckets] == [ns(f"{d}T00:00", zone) for d in starts]
    if calendar == query_pb2.CALENDAR_BUCKET_DAY:
        assert [b.count for b in buckets] == ([24, 23, 24] if zone == "Europe/Berlin" else [24, 24, 24])


async def test_bad_input_gets_its_status_and_the_service_serves_on(query, tenant, admin_conn, series_maker):
    series = await series_maker.new()
    write_blocks(admin_conn, tenant.id, series, np.array([HOUR0], np.int64), np.array([5.0]), [slice(0, 1)])
    cases = [
        (query.aggregate(series, HOUR0, HOUR0 - 1, bucket_ns=S), "range", "EMPTY_RANGE"),
        (query.aggregate(series, HOUR0, HOUR0 + DAY, bucket_ns=0), "bucket_ns", None),
        (query.aggregate(series, HOUR0, HOUR0 + DAY, bucket_ns=1), "1,000,000 buckets", "TOO_MANY_BUCKETS"),
        (query.aggregate("not-a-series", HOUR0, HOUR0 + DAY, bucket_ns=HOUR), "series_id", None),
        (
            query.aggregate(
                series, HOUR0, HOUR0 + DAY, calendar=query_pb2.CALENDAR_BUCKET_DAY, time_zone="Mars/Olympus"
            ),
            "Mars/Olympus",
            "UNKNOWN_TIME_ZONE",
        ),
        (
            query.aggregate(
                series, HOUR0, HOUR0 + DAY, bucket_ns=HOUR, calendar=query_pb2.CALENDAR_BUCKET_DAY
            ),
            "calendar",
            None,
        ),
        (query.chart(series, HOUR0, HOUR0 + DAY, 0), "columns", None),
        (query.chart(series, HOUR0, HOUR0 + DAY, 10_001), "columns", None),
        (query.chart(series, HOUR0 + DAY, HOUR0, 10), "range", "EMPTY_RANGE"),
    ]
    await assert_refused(cases)
    # The same range with a bucket that gives exactly 1,000,000 buckets is fine, and so is the service.
    assert [b.count for b in await query.aggregate(series, HOUR0, HOUR0 + 10**6, bucket_ns=1)] == [1]
    assert [c.first for c in await query.chart(series, HOUR0, HOUR0 + DAY, 10_000)] == [5.0]
    # A series of the tenant without any block is an empty answer.
    assert await query.aggregate(await series_maker.new(), HOUR0, HOUR0 + DAY, bucket_ns=HOUR) == []


async def test_blocks_with_nan_or_an_unknown_nan_count_are_decoded(query, tenant, admin_conn, series_maker):
    """Statistics answer only for blocks known to hold no NaN: their count and first/last include NaN."""
    series = await series_maker.new()
    timestamps = HOUR0 + np.arange(6, dtype=np.int64) * S
    values = np.array([np.nan, 1.0, 3.0, 5.0, 7.0, np.nan])
    with_nan = encode_block(series, timestamps[:3], values[:3])
    clean = encode_block(series, timestamps[3:5], values[3:5])
    assert (with_nan.nan_count, clean.nan_count) == (1, 0)
    write_row(admin_conn, tenant.id, with_nan)
    write_row(admin_conn, tenant.id, clean, sum_value=-1.0, nan_count=None)  # written before migration 0011
    write_row(admin_conn, tenant.id, encode_block(series, timestamps[5:], values[5:]))  # NaN only
    [bucket] = await query.aggregate(series, HOUR0, HOUR0 + HOUR, bucket_ns=HOUR)
    assert (bucket.count, bucket.sum, bucket.first, bucket.last) == (4, 16.0, 1.0, 7.0)


async def test_whole_hours_with_a_rollup_are_answered_from_it_when_the_buckets_allow(
    query, tenant, admin_conn, series_maker
):
    """Rollups that disagree with the blocks show which one a query read."""
    series = await series_maker.new()
    timestamps = HOUR0 + np.arange(0, 2 * HOUR, 10 * S, dtype=np.int64)  # two hours, 6 blocks
    values = np.arange(timestamps.size, dtype=np.float64)
    write_blocks(
        admin_conn, tenant.id, series, timestamps, values, split_blocks(timestamps, {120, 240, 360, 480, 600})
    )
    first_hour = timestamps < HOUR0 + HOUR
    for width in (HOUR, MINUTE):
        lying = rollups.summarise(HOUR0, width, timestamps[first_hour], values[first_hour] + 1000)
        write_rollup(admin_conn, tenant.id, series, lying)
    true_sum = [values[first_hour].sum(), values[~first_hour].sum()]

    hourly = await query.aggregate(series, HOUR0, HOUR0 + 2 * HOUR, bucket_ns=HOUR)
    assert [b.sum for b in hourly] == [true_sum[0] + 360 * 1000, true_sum[1]]  # hour 0 from its rollup
    five = await query.aggregate(series, HOUR0, HOUR0 + 2 * HOUR, bucket_ns=5 * MINUTE)
    assert five[0].sum == values[:30].sum() + 30 * 1000  # minute entries serve 5-minute buckets
    assert five[12].sum == values[360:390].sum()  # the second hour has no rollup: its blocks
    for start, bucket, with_stddev in (
        (HOUR0, 90 * S, False),  # not a multiple of a minute
        (HOUR0 + MINUTE, HOUR, False),  # hour 0 is not whole in the range
        (HOUR0, HOUR, True),  # rollups keep no squares
    ):
        got = await query.aggregate(
            series, start, HOUR0 + 2 * HOUR, bucket_ns=bucket, with_stddev=with_stddev
        )
        assert sum(b.sum for b in got) == values[timestamps >= start].sum()  # all from the blocks


async def test_unknown_and_other_tenants_series_are_not_found_everywhere(
    stack, signer, query, tenant, admin_conn, series_maker
):
    mine = await series_maker.new()
    write_blocks(admin_conn, tenant.id, mine, np.array([HOUR0], np.int64), np.array([5.0]), [slice(0, 1)])
    other = await create_tenant(stack.targets["tenancy"], signer, "Query engine B", series_count=1)
    theirs = other.series_ids[0]  # with a block, so only the catalog check can hide it
    write_blocks(
        admin_conn, other.id, uuid.UUID(theirs), np.array([HOUR0], np.int64), np.array([7.0]), [slice(0, 1)]
    )
    lo, hi = HOUR0, HOUR0 + DAY
    for series in (uuid.uuid4(), theirs):
        calls = [
            query.read(series, lo, hi, 10),
            drain(query.stream(series, lo, hi, 10)),
            query.aggregate(series, lo, hi, bucket_ns=HOUR),
            query.chart(series, lo, hi, 10),
            query.aligned([mine, series], lo, hi, bucket_ns=HOUR, function=query_pb2.AGGREGATE_FUNCTION_SUM),
        ]
        await assert_refused([(c, str(series), "SERIES_NOT_FOUND") for c in calls], grpc.StatusCode.NOT_FOUND)
    # LatestValues leaves unknown and foreign series out (no error, and nothing of the other tenant).
    request = query_pb2.LatestValuesRequest(series_ids=[theirs, str(uuid.uuid4())])
    latest = await query.stub.LatestValues(request, metadata=query.metadata, timeout=10)
    assert list(latest.values) == []
    assert (await query.read(mine, lo, hi, 10)).values == [5.0]


async def test_aligned_aggregate_puts_several_series_on_one_axis(query, tenant, admin_conn, series_maker):
    a, b, c = [await series_maker.new() for _ in range(3)]
    points = {
        a: HOUR0 + np.array([0, 10, 70, 130], dtype=np.int64) * MINUTE,  # hours 0, 1, 2
        b: HOUR0 + np.array([15, 200], dtype=np.int64) * MINUTE,  # hours 0, 3
    }  # c has no points
    for series, timestamps in points.items():
        values = np.arange(1.0, timestamps.size + 1)
        write_blocks(admin_conn, tenant.id, series, timestamps, values, split_blocks(timestamps, {1}))
    lo, hi = HOUR0, HOUR0 + 5 * HOUR
    starts = [HOUR0 + k * HOUR for k in (0, 1, 2, 3)]
    for function, column_a, column_b in [
        (query_pb2.AGGREGATE_FUNCTION_SUM, [3.0, 3.0, 4.0, None], [1.0, None, None, 2.0]),
        (query_pb2.AGGREGATE_FUNCTION_COUNT, [2.0, 1.0, 1.0, None], [1.0, None, None, 1.0]),
        (query_pb2.AGGREGATE_FUNCTION_LAST, [2.0, 3.0, 4.0, None], [1.0, None, None, 2.0]),
        (query_pb2.AGGREGATE_FUNCTION_AVG, [1.5, 3.0, 4.0, None], [1.0, None, None, 2.0]),
    ]:
        got = await query.aligned([b, a, c], lo, hi, bucket_ns=HOUR, function=function)
        assert list(got.starts_ns) == starts
        assert [col.series_id for col in got.columns] == [str(b), str(a), str(c)]
        for col, want in zip(got.columns, [column_b, column_a, [None] * 4], strict=True):
            assert list(col.present) == [v is not None for v in want]
            assert [v if p else None for v, p in zip(col.values, col.present, strict=True)] == want
            assert all(math.isnan(v) for v, p in zip(col.values, col.present, strict=True) if not p)
    # The same buckets as Aggregate gives each series alone.
    alone = await query.aggregate(a, lo, hi, bucket_ns=HOUR)
    got = await query.aligned([a], lo, hi, bucket_ns=HOUR, function=query_pb2.AGGREGATE_FUNCTION_MAX)
    assert list(got.starts_ns) == [x.start_ns for x in alone]
    assert list(got.columns[0].values) == [x.max for x in alone]
    # Calendar days in a time zone work as in Aggregate.
    day = await query.aligned(
        [a, b],
        lo,
        hi,
        calendar=query_pb2.CALENDAR_BUCKET_DAY,
        time_zone="Asia/Kolkata",
        function=query_pb2.AGGREGATE_FUNCTION_COUNT,
    )
    kolkata = await query.aggregate(
        a, lo, hi, calendar=query_pb2.CALENDAR_BUCKET_DAY, time_zone="Asia/Kolkata"
    )
    assert list(day.starts_ns) == sorted({x.start_ns for x in kolkata} | set(day.starts_ns))
    assert sum(day.columns[0].values[i] for i, p in enumerate(day.columns[0].present) if p) == 4


async def test_aligned_aggregate_refuses_bad_input_and_serves_on(query, tenant, admin_conn, series_maker):
    series = await series_maker.new()
    write_blocks(admin_conn, tenant.id, series, np.array([HOUR0], np.int64), np.array([5.0]), [slice(0, 1)])
    total = query_pb2.AGGREGATE_FUNCTION_SUM
    cases = [
        (
            query.aligned([], HOUR0, HOUR0 + DAY, bucket_ns=HOUR, function=total),
            "series_ids",
            "TOO_MANY_SERIES",
        ),
        (
            query.aligned(
                [uuid.uuid4() for _ in range(101)], HOUR0, HOUR0 + DAY, bucket_ns=HOUR, function=total
            ),
            "1 to 100 series",
            "TOO_MANY_SERIES",
        ),
        (query.aligned([series, series], HOUR0, HOUR0 + DAY, bucket_ns=HOUR, function=total), "twice", None),
        (query.aligned([series], HOUR0, HOUR0 + DAY, bucket_ns=HOUR), "function", None),
        (query.aligned([series], HOUR0, HOUR0 - 1, bucket_ns=HOUR, function=total), "range", "EMPTY_RANGE"),
        (query.aligned([series], HOUR0, HOUR0 + DAY, bucket_ns=0, function=total), "bucket_ns", None),
        (
            query.aligned([series], HOUR0, HOUR0 + DAY, bucket_ns=1, function=total),
            "1,000,000 buckets",
            "TOO_MANY_BUCKETS",
        ),
        (
            query.aligned(
                [series],
                HOUR0,
                HOUR0 + DAY,
                calendar=query_pb2.CALENDAR_BUCKET_WEEK,
                time_zone="Mars/Olympus",
                function=total,
            ),
            "Mars/Olympus",
            "UNKNOWN_TIME_ZONE",
        ),
        (query.aligned(["x"], HOUR0, HOUR0 + DAY, bucket_ns=HOUR, function=total), "series_ids", None),
    ]
    await assert_refused(cases)
    got = await query.aligned([series], HOUR0, HOUR0 + DAY, bucket_ns=HOUR, function=total)
    assert (list(got.starts_ns), list(got.columns[0].values)) == ([HOUR0], [5.0])


async def test_buckets_as_columns_are_the_same_numbers(query, tenant, admin_conn, series_maker):
    series = await series_maker.new()
    timestamps = HOUR0 + np.arange(0, 3 * HOUR, 7 * S, dtype=np.int64)
    values = np.round(np.sin(np.arange(timestamps.size) / 50), 2)
    write_blocks(
        admin_conn, tenant.id, series, timestamps, values, split_blocks(timestamps, {100, 700, 1200})
    )
    for with_stddev in (False, True):
        fields = {"bucket_ns": 10 * MINUTE, "with_stddev": with_stddev}
        buckets = await query.aggregate(series, HOUR0, HOUR0 + 3 * HOUR, **fields)
        request = query_pb2.AggregateRequest(
            series_id=str(series),
            range=common_pb2.TimeRange(start_ns=HOUR0, end_ns=HOUR0 + 3 * HOUR),
            as_columns=True,
            **fields,
        )
        response = await query.stub.Aggregate(request, metadata=query.metadata)
        assert not response.buckets and len(response.columns.start_ns) == len(buckets) == 18
        for name in ("start_ns", "count", "min", "max", "sum", "avg", "first_ts", "first", "last_ts", "last"):
            assert list(getattr(response.columns, name)) == [getattr(b, name) for b in buckets], name
        assert list(response.columns.stddev) == ([b.stddev for b in buckets] if with_stddev else [])
