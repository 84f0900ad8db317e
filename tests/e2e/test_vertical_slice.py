"""The slice end to end: a new tenant streams 100,000 points over gRPC and reads exactly them
back, raw and aggregated, through GraphQL over HTTP; a second tenant sees none of it."""

from __future__ import annotations

import numpy as np
import pytest

from gateway.graphql.scalars import format_timestamp, parse_timestamp
from sfcloud.v1 import ingest_pb2
from tests.e2e.provision import GraphQLClient, create_tenant, send_batches

POINTS_PER_SERIES = 25_000
SERIES = 4
BATCH = 1_000
START_NS = 1_764_000_000 * 10**9  # 2025-11-24, inside the accepted window

POINTS_QUERY = """query ($id: ID!, $from: Timestamp!, $to: Timestamp!) {
  points(seriesId: $id, from: $from, to: $to, first: 50000) { timestamps values hasMore nextFrom } }"""
AGGREGATE_QUERY = """query ($id: ID!, $from: Timestamp!, $to: Timestamp!) {
  aggregate(seriesId: $id, from: $from, to: $to, bucket: "1m") { start count min max sum avg } }"""


def make_series(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    steps = rng.integers(900_000_000, 1_100_000_000, POINTS_PER_SERIES)  # jittered 1 Hz, to the nanosecond
    timestamps = START_NS + np.cumsum(steps)
    values = np.round(20 + np.cumsum(rng.normal(0, 0.05, POINTS_PER_SERIES)), 3)
    return timestamps.astype(np.int64), values


def batches_for(series_ids: list[str], data: dict[str, tuple[np.ndarray, np.ndarray]]) -> list:
    batches = []
    for start in range(0, POINTS_PER_SERIES, BATCH):
        entries = [
            ingest_pb2.SeriesPoints(
                series_id=sid,
                timestamps_ns=data[sid][0][start : start + BATCH].tolist(),
                values=data[sid][1][start : start + BATCH].tolist(),
            )
            for sid in series_ids
        ]
        batches.append(ingest_pb2.IngestRequest(batch_no=len(batches) + 1, series=entries))
    return batches


@pytest.fixture(scope="module")
async def streamed(stack, signer):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Slice A", series_count=SERIES)
    data = {sid: make_series(i) for i, sid in enumerate(tenant.series_ids)}
    acks = await send_batches(
        stack.targets["ingest"], tenant.credential, batches_for(tenant.series_ids, data)
    )
    return tenant, data, acks


async def test_every_batch_is_acknowledged_after_commit(streamed, admin_conn):
    tenant, _, acks = streamed
    assert [a.batch_no for a in acks] == list(range(1, POINTS_PER_SERIES // BATCH + 1))
    assert sum(a.points_stored for a in acks) == SERIES * POINTS_PER_SERIES == 100_000
    stored = admin_conn.execute(
        "SELECT sum(count) FROM telemetry.blocks WHERE tenant_id = %s", [tenant.id]
    ).fetchone()[0]
    assert stored == 100_000


async def test_points_read_back_exactly_through_graphql(stack, streamed):
    tenant, data, _ = streamed
    client = await GraphQLClient.login(stack.gateway_url, tenant.owner_email, tenant.owner_password)
    try:
        for sid in tenant.series_ids:
            timestamps, values = await read_all(client, sid)
            assert np.array_equal(timestamps, data[sid][0])
            assert np.array_equal(values, data[sid][1])
    finally:
        await client.close()


async def read_all(client: GraphQLClient, series_id: str) -> tuple[np.ndarray, np.ndarray]:
    timestamps, values, start = [], [], format_timestamp(START_NS)
    end = format_timestamp(START_NS + 10**15)
    while start is not None:
        page = (await client.query(POINTS_QUERY, id=series_id, **{"from": start, "to": end}))["data"][
            "points"
        ]
        timestamps += [parse_timestamp(t) for t in page["timestamps"]]
        values += page["values"]
        start = page["nextFrom"]
    return np.array(timestamps, dtype=np.int64), np.array(values, dtype=np.float64)


async def test_aggregates_match_the_points(stack, streamed):
    tenant, data, _ = streamed
    sid = tenant.series_ids[0]
    timestamps, values = data[sid]
    client = await GraphQLClient.login(stack.gateway_url, tenant.owner_email, tenant.owner_password)
    try:
        body = await client.query(
            AGGREGATE_QUERY,
            id=sid,
            **{"from": format_timestamp(START_NS), "to": format_timestamp(int(timestamps[-1]) + 1)},
        )
    finally:
        await client.close()
    buckets = body["data"]["aggregate"]
    keys = timestamps // 60_000_000_000 * 60_000_000_000
    expected_starts, first = np.unique(keys, return_index=True)
    assert [parse_timestamp(b["start"]) for b in buckets] == expected_starts.tolist()
    assert [b["count"] for b in buckets] == np.diff(np.append(first, keys.size)).tolist()
    assert [b["min"] for b in buckets] == np.minimum.reduceat(values, first).tolist()
    assert [b["max"] for b in buckets] == np.maximum.reduceat(values, first).tolist()
    assert [b["sum"] for b in buckets] == pytest.approx(np.add.reduceat(values, first).tolist(), rel=1e-12)


async def test_a_second_tenant_sees_none_of_it(stack, signer, streamed):
    tenant_a, _, _ = streamed
    tenant_b = await create_tenant(stack.targets["tenancy"], signer, "Slice B")
    client = await GraphQLClient.login(stack.gateway_url, tenant_b.owner_email, tenant_b.owner_password)
    try:
        machines = (await client.query("{ machines { id } }"))["data"]["machines"]
        assert [m["id"] for m in machines] == [tenant_b.machine_id]
        for sid in tenant_a.series_ids:
            body = await client.query(
                POINTS_QUERY,
                id=sid,
                **{"from": format_timestamp(START_NS), "to": format_timestamp(START_NS + 10**15)},
            )
            assert body["data"] is None
            assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        listed = (
            await client.query(
                "query ($ids: [ID!]!) { series(ids: $ids) { id } latest(seriesIds: $ids) { value } }",
                ids=tenant_a.series_ids,
            )
        )["data"]
        assert listed == {"series": [], "latest": []}
    finally:
        await client.close()
