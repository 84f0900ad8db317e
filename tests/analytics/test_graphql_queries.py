"""The GraphQL side of the query engine: calendar aggregates, chart columns and the chart line, and bad\ninput as errors."""

from __future__ import annotations

import time
import uuid

import numpy as np
import pytest

from gateway.graphql.scalars import format_timestamp
from tests.e2e.provision import GraphQLClient, create_tenant, send_batches
from tests.e2e.test_bad_input import batch

S = 10**9
AGGREGATE = """query($id: ID!, $from: Timestamp!, $to: Timestamp!, $tz: String!) {
  aggregate(seriesId: $id, from: $from, to: $to, calendar: DAY, timeZone: $tz) {
    start count first firstAt last lastAt } }"""
CHART = """query($id: ID!, $from: Timestamp!, $to: Timestamp!) {
  chart(seriesId: $id, from: $from, to: $to, columns: 4) { start first last min max minAt maxAt } }"""


@pytest.fixture(scope="module")
async def client_and_series(stack, signer):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "GraphQL queries")
    start = (time.time_ns() // (3600 * S) - 30) * 3600 * S
    timestamps = start + np.arange(0, 24 * 3600, 60, dtype=np.int64) * S
    values = np.arange(timestamps.size, dtype=np.float64)
    series = tenant.series_ids[0]
    await send_batches(
        stack.targets["ingest"], tenant.credential, [batch(series, timestamps.tolist(), values.tolist())]
    )
    client = await GraphQLClient.login(stack.gateway_url, tenant.owner_email, tenant.owner_password)
    yield client, series, timestamps
    await client.close()


def span(timestamps) -> dict:
    return {"from": format_timestamp(int(timestamps[0])), "to": format_timestamp(int(timestamps[-1]) + 1)}


async def test_calendar_days_and_chart_columns(client_and_series):
    client, series, timestamps = client_and_series
    body = await client.query(AGGREGATE, id=series, tz="UTC", **span(timestamps))
    days = body["data"]["aggregate"]
    assert sum(d["count"] for d in days) == timestamps.size and days[0]["first"] == 0.0
    assert days[-1]["last"] == timestamps.size - 1
    body = await client.query(CHART, id=series, **span(timestamps))
    columns = body["data"]["chart"]
    assert len(columns) == 4 and columns[0]["first"] == 0.0 and columns[-1]["max"] == timestamps.size - 1
    assert all(c["min"] == c["first"] and c["max"] == c["last"] for c in columns)  # a rising line


async def test_the_chart_line_is_the_columns_points_in_time_order(stack, signer):
    """A wave (so first, smallest, largest and last differ) through `chartLine`: every point drawn is a stored
    point, in time order, with each column's first and last point and its extremes."""
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Chart line")
    start = (time.time_ns() // (3600 * S) - 3) * 3600 * S
    timestamps = start + np.arange(0, 3600, 2, dtype=np.int64) * S
    values = np.round(np.sin(np.arange(timestamps.size) / 7.0) * 10, 3)
    series = tenant.series_ids[0]
    await send_batches(
        stack.targets["ingest"], tenant.credential, [batch(series, timestamps.tolist(), values.tolist())]
    )
    client = await GraphQLClient.login(stack.gateway_url, tenant.owner_email, tenant.owner_password)
    try:
        query = """query($id: ID!, $from: Timestamp!, $to: Timestamp!) {
          chartLine(seriesId: $id, from: $from, to: $to, columns: 30) { timesMs values } }"""
        line = (await client.query(query, id=series, **span(timestamps)))["data"]["chartLine"]
    finally:
        await client.close()
    stored = {int(t) // 10**6: v for t, v in zip(timestamps.tolist(), values.tolist(), strict=True)}
    drawn = list(zip(line["timesMs"], line["values"], strict=True))
    assert [t for t, _ in drawn] == sorted(t for t, _ in drawn)
    assert all(stored[int(t)] == v for t, v in drawn)
    for column in np.array_split(np.arange(timestamps.size), 30):  # 30 equal columns of 60 points each
        times, vals = timestamps[column] // 10**6, values[column]
        assert {int(times[0]), int(times[-1])} <= {int(t) for t, _ in drawn}
        inside = [v for t, v in drawn if times[0] <= t <= times[-1]]
        assert min(inside) == vals.min() and max(inside) == vals.max()


async def test_an_unknown_time_zone_is_bad_user_input(client_and_series):
    client, series, timestamps = client_and_series
    body = await client.query(AGGREGATE, id=series, tz="Mars/Olympus", **span(timestamps))
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "Mars/Olympus" in body["errors"][0]["message"]


POINTS = """query($id: ID!, $from: Timestamp!, $to: Timestamp!, $first: Int!, $after: String) {
  points(seriesId: $id, from: $from, to: $to, first: $first, after: $after) {
    timestamps values hasMore endCursor } }"""
ALIGNED = """query($ids: [ID!]!, $from: Timestamp!, $to: Timestamp!, $bucket: Duration) {
  alignedAggregate(seriesIds: $ids, from: $from, to: $to, bucket: $bucket, function: MAX) {
    starts columns { seriesId values } } }"""


@pytest.fixture(scope="module")
async def two_series(stack, signer):
    """A tenant whose first series has a point a minute for two hours, its second one every 20 minutes."""
    tenant = await create_tenant(stack.targets["tenancy"], signer, "GraphQL paging")
    start = (time.time_ns() // (3600 * S) - 10) * 3600 * S
    a, b = tenant.series_ids[:2]
    minutes = start + np.arange(0, 120 * 60, 60, dtype=np.int64) * S
    batches = [
        batch(a, minutes.tolist(), np.arange(120.0).tolist(), 1),
        batch(b, minutes[::20].tolist(), (-np.arange(6.0)).tolist(), 2),
    ]
    await send_batches(stack.targets["ingest"], tenant.credential, batches)
    client = await GraphQLClient.login(stack.gateway_url, tenant.owner_email, tenant.owner_password)
    yield client, tenant, minutes
    await client.close()


async def test_points_page_on_with_the_end_cursor(two_series):
    client, tenant, minutes = two_series
    got, after, pages = [], None, 0
    while True:
        body = await client.query(POINTS, id=tenant.series_ids[0], first=50, after=after, **span(minutes))
        page = body["data"]["points"]
        got += page["values"]
        pages += 1
        assert page["hasMore"] == (page["endCursor"] is not None)
        if not page["hasMore"]:
            break
        after = page["endCursor"]
    assert (got, pages) == (list(range(120)), 3)
    # A cursor of another series is bad input.
    body = await client.query(POINTS, id=tenant.series_ids[1], first=50, after=after, **span(minutes))
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "page_token" in body["errors"][0]["message"]


async def test_aligned_aggregate_charts_several_series_on_one_axis(two_series):
    client, tenant, minutes = two_series
    a, b, empty = tenant.series_ids
    body = await client.query(ALIGNED, ids=[a, b, empty], bucket="1h", **span(minutes))
    result = body["data"]["alignedAggregate"]
    assert len(result["starts"]) == 2
    assert result["columns"] == [
        {"seriesId": a, "values": [59.0, 119.0]},
        {"seriesId": b, "values": [-0.0, -3.0]},
        {"seriesId": empty, "values": [None, None]},
    ]
    unknown = await client.query(ALIGNED, ids=[a, str(uuid.uuid4())], bucket="1h", **span(minutes))
    assert unknown["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    too_many = await client.query(ALIGNED, ids=[a] * 101, bucket="1h", **span(minutes))
    assert too_many["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
