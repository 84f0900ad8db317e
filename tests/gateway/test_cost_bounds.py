"""RELIABILITY G2: over-limit page sizes are refused before anything runs, the worst query a starter plan
allows answers within 2 s on a series of 1,000,000 points, and the request bucket refills as documented.
(Raw ranges past the plan's window: `test_raw_window.py`.)"""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from gateway.graphql.scalars import format_timestamp
from services.tenancy.catalog import catalog_with_quotas
from tests.analytics.helpers import split_blocks, write_blocks
from tests.gateway.conftest import another_gateway, new_developer, serves
from tests.gateway.test_abuse import errors_of

ALARMS = "query($n: Int!) { alarmsConnection(first: $n) { nodes { id } pageInfo { hasNextPage } } }"
MILLION = 1_000_000
WORST_S = 2.0
REFILL_RATE = 60  # requests a minute: one a second
STARTER_WINDOW_NS = 7 * 86_400 * 10**9  # the widest range a starter plan's raw read spans


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


def read(field: str, arguments: str, selection: str) -> str:
    """A query of one read of the series `$id` over [`$from`, `$to`)."""
    bucket = ", $b: Duration!" if "$b" in arguments else ""
    head = f"query($id: ID!, $from: Timestamp!, $to: Timestamp!{bucket})"
    return f"{head} {{ {field}(seriesId: $id, from: $from, to: $to, {arguments}) {{ {selection} }} }}"


EVERY_BUCKET_FIELD = "start count min max sum avg firstAt first lastAt last"
ALIASED = " ".join(f"a{i}: {field}" for i, field in enumerate(EVERY_BUCKET_FIELD.split() * 2) if i < 15)
WORST_ALLOWED = [
    pytest.param("points", "first: 50000", "values", id="50,000 raw points"),
    pytest.param("chart", "columns: 10000", "max", id="chart of 10,000 columns"),
    pytest.param("chartLine", "columns: 10000", "values", id="chart line of 10,000 columns"),
    pytest.param(
        "aggregate", "calendar: DAY", "start count min max sum avg first last", id="daily, every field"
    ),
    # 50,000 objects: completed as rows in one pass (gateway/graphql/executor.py); item by item it took
    # 0.44-0.71 s with the machine to itself and 1.8-3.1 s while other jobs held the 2 cores.
    pytest.param("aggregate", "bucket: $b", "avg", id="50,000 buckets"),
    # A list item costs 1 whatever it holds: the most a starter plan's item may hold, 25 values.
    pytest.param(
        "aggregate", "bucket: $b", f"{EVERY_BUCKET_FIELD} {ALIASED}", id="50,000 buckets, 25 values each"
    ),
]


@pytest.mark.parametrize(("field", "arguments", "selection"), WORST_ALLOWED)
async def test_the_worst_allowed_reads_answer_within_two_seconds(
    developer, million_points, field, arguments, selection
):
    """The heaviest reads of the whole million the starter plan's cost limit (50,000) lets through (raw points
    over the first week of it: the plan's raw window)."""
    series, lo, hi = million_points
    to = lo + STARTER_WINDOW_NS if field == "points" else hi
    variables = {"id": series, "from": format_timestamp(lo), "to": format_timestamp(to), "b": "20s"}
    query = read(field, arguments, selection)
    if "$b" not in arguments:
        del variables["b"]
    async with developer.client() as client:
        started = time.perf_counter()
        response = await client.post("/graphql", json={"query": query, "variables": variables})
        seconds = time.perf_counter() - started
    assert "errors" not in response.json(), response.text[:300]
    print(f"\n{field}({arguments}) {{ {selection} }}: {seconds:.2f} s")
    assert seconds < WORST_S


async def test_a_million_buckets_are_refused_by_cost(developer, million_points):
    """An aggregate's cost is its buckets: 1 s buckets over the million seconds cost 1,000,000 (they were
    costed 50 as any list, and analytics built an 88 MB answer gRPC then could not send)."""
    series, lo, hi = million_points
    variables = {"id": series, "from": format_timestamp(lo), "to": format_timestamp(hi), "b": "1s"}
    async with developer.client() as client:
        response = await client.post(
            "/graphql", json={"query": read("aggregate", "bucket: $b", "avg"), "variables": variables}
        )
        (error,) = errors_of(response)
    assert error["extensions"]["cost"] == MILLION, error


async def passing(client) -> int:
    """Requests that pass in a quick burst before the first 429."""
    count = 0
    while (await client.post("/graphql", json={"query": "{ me { kind } }"})).status_code == 200:
        count += 1
    return count


async def test_the_request_bucket_refills_at_the_plans_rate(stack, signer, tenancy, tmp_path):
    """A key of a 60-a-minute plan spends its minute's worth, is refused with `Retry-After: 1`, and 3 s later
    has 3 requests again (4 if the burst straddles a refill): a bucket holding a minute, refilling continuously
    (docs/API.md, "Rate limits")."""
    catalog = catalog_with_quotas(tmp_path, {"standard": {"api_requests_per_minute": REFILL_RATE}})
    async with another_gateway(stack, catalog_dir=catalog) as url:
        developer = await new_developer(stack, signer, tenancy, url, plan="standard")
        async with developer.client() as client:
            assert REFILL_RATE <= await passing(client) <= REFILL_RATE + 1
            refused = await client.post("/graphql", json={"query": "{ me { kind } }"})
            assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
            assert 59 <= int(refused.headers["ratelimit-reset"]) <= 60
            await asyncio.sleep(3)
            assert await passing(client) in (3, 4)
