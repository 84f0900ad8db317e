"""Property: for random points in random blocks, Aggregate (fixed, day and week buckets in a time zone)
and ChartSeries (M4) agree with a plain numpy computation over the same points.

Points have unique timestamps (the store keeps one value per time); values are multiples of 1/4 and
small, so every sum is exact whatever order the blocks are added in, and sums compare bit for bit.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.runtime.blocks import encode_block
from sfcloud.v1 import query_pb2
from tests.analytics.helpers import split_blocks, write_rollups, write_row

S = 10**9
MINUTE, HOUR, DAY = 60 * S, 3600 * S, 86400 * S
# Days before daylight-saving changes: the US and Europe in spring, Europe in autumn, Lord Howe (30 min).
BASES = [datetime(2026, 3, 6, tzinfo=UTC), datetime(2026, 3, 27, tzinfo=UTC), datetime(2026, 10, 23, tzinfo=UTC),
         datetime(2026, 4, 3, tzinfo=UTC)]  # fmt: skip
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Asia/Kathmandu"]
SPANS = [10 * S, 2 * HOUR, 3 * DAY, 9 * DAY]


@st.composite
def stored(draw):
    """Sorted unique timestamps, values (some NaN), where blocks are cut, which of them are stored
    without a NaN count (as before migration 0011) and which rollups every hour has, and a query range
    around them."""
    base = int(draw(st.sampled_from(BASES)).timestamp()) * S
    span = draw(st.sampled_from(SPANS))
    offsets = draw(st.lists(st.integers(0, span - 1), min_size=1, max_size=300, unique=True))
    timestamps = base + np.sort(np.array(offsets, dtype=np.int64))
    quarters = st.one_of(st.integers(-4000, 4000).map(lambda q: q / 4), st.just(math.nan))
    values = np.array(draw(st.lists(quarters, min_size=len(offsets), max_size=len(offsets))))
    cuts = set(draw(st.lists(st.integers(1, len(offsets)), max_size=20)))
    legacy = draw(st.sets(st.integers(0, 40), max_size=5))  # blocks stored without their NaN count
    rolled = draw(st.sampled_from([None, MINUTE, HOUR]))  # every hour also has a rollup of this width
    lo = base + draw(st.integers(-span // 4, span))
    hi = lo + draw(st.integers(1, span + span // 2))
    return timestamps, values, (cuts, legacy, rolled), lo, hi


def in_range(timestamps, values, lo, hi):
    keep = (timestamps >= lo) & (timestamps < hi) & ~np.isnan(values)
    return timestamps[keep], values[keep]


def expected_buckets(timestamps, values, keys) -> dict[int, dict]:
    out = {}
    for key in np.unique(keys):
        t, v = timestamps[keys == key], values[keys == key]
        out[int(key)] = {
            "count": t.size, "min": v.min(), "max": v.max(), "sum": float(np.sum(v)),
            "first": (t[0], v[0]), "last": (t[-1], v[-1]), "std": float(np.std(v)),
        }  # fmt: skip
    return out


def local_midnight_ns(t: int, zone: ZoneInfo, week: bool) -> int:
    day = (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=t // 1000)).astimezone(zone).date()
    if week:
        day -= timedelta(days=day.weekday())
    return int(datetime(day.year, day.month, day.day, tzinfo=zone).timestamp()) * S


async def write(admin_conn, tenant, series_maker, timestamps, values, blocks) -> uuid.UUID:
    series, (cuts, legacy, rolled) = await series_maker.new(), blocks
    for n, piece in enumerate(split_blocks(timestamps, cuts)):
        unknown = {"nan_count": None} if n in legacy else {}
        write_row(admin_conn, tenant.id, encode_block(series, timestamps[piece], values[piece]), **unknown)
    if rolled:
        write_rollups(admin_conn, tenant.id, series, timestamps, values, rolled)
    return series


SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))


@SETTINGS
@given(data=stored(), calendar=st.sampled_from(["fixed", "minutes", "day", "week"]), zone=st.sampled_from(ZONES),
       buckets=st.integers(1, 3000), with_stddev=st.booleans())  # fmt: skip
async def test_aggregate_matches_numpy(
    query, tenant, admin_conn, series_maker, data, calendar, zone, buckets, with_stddev
):
    """Fixed widths of any size, or of whole minutes (as dashboards ask, and rollups can answer)."""
    timestamps, values, cuts, lo, hi = data
    series = await write(admin_conn, tenant, series_maker, timestamps, values, cuts)
    t, v = in_range(timestamps, values, lo, hi)
    if calendar in ("fixed", "minutes"):
        width = max(1, (hi - lo) // buckets)
        width = max(MINUTE, width // MINUTE * MINUTE) if calendar == "minutes" else width
        keys = t // width * width
        fields = {"bucket_ns": width}
    else:
        keys = np.array([local_midnight_ns(int(x), ZoneInfo(zone), calendar == "week") for x in t], np.int64)
        kind = query_pb2.CALENDAR_BUCKET_DAY if calendar == "day" else query_pb2.CALENDAR_BUCKET_WEEK
        fields = {"calendar": kind, "time_zone": zone}
    got = await query.aggregate(series, lo, hi, with_stddev=with_stddev, **fields)
    want = expected_buckets(t, v, keys)
    assert [b.start_ns for b in got] == sorted(want)
    for b in got:
        w = want[b.start_ns]
        assert (b.count, b.min, b.max, b.sum) == (w["count"], w["min"], w["max"], w["sum"])
        assert b.avg == w["sum"] / w["count"]
        assert ((b.first_ts, b.first), (b.last_ts, b.last)) == (w["first"], w["last"])
        assert b.HasField("stddev") == with_stddev
        if with_stddev:
            assert b.stddev == pytest.approx(w["std"], rel=1e-9, abs=1e-9)


@SETTINGS
@given(data=stored(), columns=st.one_of(st.integers(1, 80), st.integers(1, 2000)))
async def test_chart_series_matches_numpy_m4(query, tenant, admin_conn, series_maker, data, columns):
    timestamps, values, cuts, lo, hi = data
    series = await write(admin_conn, tenant, series_maker, timestamps, values, cuts)
    t, v = in_range(timestamps, values, lo, hi)
    n = min(columns, hi - lo)
    edges = np.array([lo + k * (hi - lo) // n for k in range(n + 1)], dtype=np.int64)
    for unit in (HOUR, MINUTE):  # columns 5 units wide or more: inner edges at the nearest whole unit
        if hi - lo >= 5 * unit * n:
            edges[1:-1] = (edges[1:-1] + unit // 2) // unit * unit  # half a unit rounds up
            break
    keys = edges[np.searchsorted(edges, t, side="right") - 1]
    got = await query.chart(series, lo, hi, columns)
    want = expected_buckets(t, v, keys)
    assert [c.start_ns for c in got] == sorted(want)
    for c in got:
        w = want[c.start_ns]
        assert ((c.first_ts, c.first), (c.last_ts, c.last)) == (w["first"], w["last"])
        assert (c.min, c.max) == (w["min"], w["max"])
        in_column = keys == c.start_ns
        if c.HasField("min_ts"):  # the first point holding the minimum
            assert c.min_ts == t[in_column][np.argmax(v[in_column] == c.min)]
        if c.HasField("max_ts"):
            assert c.max_ts == t[in_column][np.argmax(v[in_column] == c.max)]
