"""RELIABILITY G2: over-limit page sizes are refused before anything runs, the worst query a starter plan
allows answers within 2 s on a series of 1,000,000 points, and the request bucket refills as documented."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from gateway.graphql.scalars import format_timestamp
from services.tenancy.catalog import catalog_with_quotas
from tests.analytics.helpers import split_blocks, write_blocks
from tests.gateway.conftest import gateway_reading, new_developer, serves
from tests.gateway.test_abuse import errors_of

ALARMS = "query($n: Int!) { alarmsConnection(first: $n) { nodes { id } pageInfo { hasNextPage } } }"
MILLION = 1_000_000
WORST_S = 2.0
REFILL_RATE = 60  # requests a minute: one a second


async def test_a_page_over_its_limit_is_refused_before_anything_runs(developer):
    """`first: 10001` (or 0, or 201) on a connection is a validation error, literal or variable; 200 is answered."""
    async with developer.client() as client:
        literal = "{ alarmsConnection(first: 10001) { nodes { id } } }"
        (error,) = errors_of(await client.post("/graphql", json={"query": literal}))
        assert error["extensions"] == {
            "code": "BAD_USER_INPUT",
            "reason": "FIRST_OUT_OF_RANGE",
            "first": 10001,
            "max": 200,
        }
        assert error["message"] == "first: must be between 1 and 200 (alarmsConnection was asked for 10,001)"
        for first in (0, 201, 10_001):
            response = await client.post("/graphql", json={"query": ALARMS, "variables": {"n": first}})
            (error,) = errors_of(response)
            assert error["extensions"]["reason"] == "FIRST_OUT_OF_RANGE", (first, error)
        answer = (await client.post("/graphql", json={"query": ALARMS, "variables": {"n": 200}})).json()
        assert answer == {"data": {"alarmsConnection": {"nodes": [], "pageInfo": {"hasNextPage": False}}}}
        await serves(client)


@pytest.fixture
def million_points(developer, admin_conn) -> tuple[str, int, int]:
    """A million points a second apart (278 hour blocks) in the developer's first series: its id and range."""
    series = developer.tenant.series_ids[0]
    start = (time.time_ns() // 10**9 - 30 * 86_400) * 10**9
    timestamps = start + np.arange(MILLION, dtype=np.int64) * 10**9
    values = np.sin(np.arange(MILLION) / 300.0) * 40 + 60
    write_blocks(admin_conn, developer.tenant.id, series, timestamps, values, split_blocks(timestamps, set()))
    return series, int(timestamps[0]), int(timestamps[-1]) + 10**9


def worst_allowed(series: str, lo: int, hi: int) -> dict[str, tuple[str, dict]]:
    """The heaviest reads of the whole million the starter plan's cost limit (50,000) lets through."""
    span = {"id": series, "from": format_timestamp(lo), "to": format_timestamp(hi)}
    head = "query($id: ID!, $from: Timestamp!, $to: Timestamp!"
    return {
        "50,000 raw points": (f"{head}) {{ points(seriesId: $id, from: $from, to: $to, first: 50000) {{ values }} }}", span),
        "chart of 10,000 columns": (f"{head}) {{ chart(seriesId: $id, from: $from, to: $to, columns: 10000) {{ max }} }}", span),
        "chart line of 10,000 columns": (f"{head}) {{ chartLine(seriesId: $id, from: $from, to: $to, columns: 10000) {{ values }} }}", span),
        "aggregate in 20 s buckets": (f"{head}) {{ aggregate(seriesId: $id, from: $from, to: $to, bucket: \"20s\") {{ avg }} }}", span),
        "daily aggregate, every field": (f"{head}) {{ aggregate(seriesId: $id, from: $from, to: $to, calendar: DAY) {{ start count min max sum avg first last }} }}", span),
    }  # fmt: skip


async def test_the_worst_allowed_queries_answer_within_two_seconds(developer, million_points):
    series, lo, hi = million_points
    timings = {}
    async with developer.client() as client:
        for name, (query, variables) in worst_allowed(series, lo, hi).items():
            started = time.perf_counter()
            response = await client.post("/graphql", json={"query": query, "variables": variables})
            timings[name] = time.perf_counter() - started
            body = response.json()
            assert "errors" not in body, (name, str(body)[:300])
        aggregate = "query($id: ID!, $from: Timestamp!, $to: Timestamp!, $b: Duration!) { aggregate(seriesId: $id, from: $from, to: $to, bucket: $b) { avg } }"  # fmt: skip
        response = await client.post(
            "/graphql", json={"query": aggregate, "variables": {**variables, "b": "1s"}}
        )
        (error,) = errors_of(response)  # a million buckets: refused by cost before analytics works on them
        assert error["extensions"]["cost"] == MILLION, error
    print("\n" + "; ".join(f"{name} {seconds:.2f} s" for name, seconds in timings.items()))
    assert max(timings.values()) < WORST_S, timings


async def test_the_request_bucket_refills_at_the_plans_rate(stack, signer, tenancy, tmp_path):
    """A key of a 60-a-minute plan spends its minute's worth, is refused, and after the `Retry-After` second
    has exactly one request again; after `RateLimit-Reset` seconds the bucket is full."""
    catalog = catalog_with_quotas(tmp_path, {"standard": {"api_requests_per_minute": REFILL_RATE}})
    async with gateway_reading(stack, catalog) as url:
        developer = await new_developer(stack, signer, tenancy, url, plan="standard")
        async with developer.client() as client:
            small = {"query": "{ me { kind } }"}
            statuses = [(await client.post("/graphql", json=small)).status_code for _ in range(REFILL_RATE)]
            assert statuses == [200] * REFILL_RATE
            refused = await client.post("/graphql", json=small)
            assert refused.status_code == 429
            await asyncio.sleep(int(refused.headers["retry-after"]))
            again = await client.post("/graphql", json=small)
            assert again.status_code == 200 and again.headers["ratelimit-remaining"] == "0"
            assert (await client.post("/graphql", json=small)).status_code == 429
            await asyncio.sleep(3)
            later = await client.post("/graphql", json=small)
            assert later.status_code == 200 and later.headers["ratelimit-remaining"] in ("1", "2")
