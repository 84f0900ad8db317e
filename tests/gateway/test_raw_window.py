"""RELIABILITY G2: a read of raw points over a range wider than the plan's `raw_window_days` is refused before
anything runs, by the gateway (literal or variable) and again by analytics for any gRPC caller; the widest
allowed range is answered. Real HTTP and gRPC against the real stack."""

from __future__ import annotations

import uuid

import grpc
import pytest

from gateway.graphql.scalars import format_timestamp
from services.runtime.plans import DAY_NS
from services.tenancy.catalog import load_plans
from sf.seeding import create_tenant
from sfcloud.v1 import common_pb2, query_pb2, query_pb2_grpc, sharing_pb2, sharing_pb2_grpc
from tests.analytics.helpers import drain
from tests.e2e.test_bad_input import reason_of
from tests.gateway.conftest import new_developer
from tests.gateway.test_abuse import errors_of
from tests.isolation.test_rls import _as

S = 10**9
START_NS = 1_793_491_200 * S  # 2026-11-01T00:00:00Z
WINDOWS = {code: plan.quotas["raw_window_days"] for code, plan in load_plans().items()}
POINTS = """query Points($id: ID!, $from: Timestamp!, $to: Timestamp!) {
  points(seriesId: $id, from: $from, to: $to, first: 10) { hasMore } }"""


@pytest.fixture
def pages(stack):
    """The pages the analytics server has made (each ReadPoints answer counts one), from zero."""
    stats = stack.servers["analytics"].service.reads
    stats.reset()
    return stats


def literal(series: str, end_ns: int) -> str:
    bounds = f'from: "{format_timestamp(START_NS)}", to: "{format_timestamp(end_ns)}"'
    return f'{{ points(seriesId: "{series}", {bounds}, first: 10) {{ hasMore }} }}'


def widest(plan: str) -> int:
    """The end of the widest range the plan allows a raw read from START_NS."""
    return START_NS + WINDOWS[plan] * DAY_NS


def test_every_plan_has_a_window_a_starter_the_smallest():
    assert WINDOWS == {"starter": 7, "standard": 31, "pro": 92, "enterprise": 366}


@pytest.mark.parametrize("plan", list(WINDOWS))
async def test_a_raw_range_one_second_past_the_window_is_refused_before_anything_runs(
    stack, signer, tenancy, pages, plan
):
    """The widest range is answered, literal or variable; one second more is a validation error that never
    reaches analytics (no page made)."""
    developer = await new_developer(stack, signer, tenancy, stack.gateway_url, plan=plan)
    series = developer.tenant.series_ids[0]
    async with developer.client() as client:
        for end in (widest(plan), widest(plan) + S):
            variables = {"id": series, "from": format_timestamp(START_NS), "to": format_timestamp(end)}
            bodies = [{"query": literal(series, end)}, {"query": POINTS, "variables": variables}]
            for body in bodies:
                made = pages.pages
                response = await client.post("/graphql", json=body)
                if end == widest(plan):
                    assert response.json() == {"data": {"points": {"hasMore": False}}}, response.text
                    assert pages.pages == made + 1
                    continue
                (error,) = errors_of(response)
                assert error["extensions"] == {
                    "code": "BAD_USER_INPUT",
                    "reason": "TIME_RANGE_TOO_WIDE",
                    "windowDays": WINDOWS[plan],
                    "rangeSeconds": WINDOWS[plan] * 86_400 + 1,
                }
                assert error["message"].startswith(
                    f"points: a read of raw points may span at most {WINDOWS[plan]} days on your plan"
                )
                assert "narrower range" in error["message"] and "aggregate or chart" in error["message"]
                assert pages.pages == made  # nothing ran


async def test_aggregates_and_charts_over_the_same_range_are_not_raw_reads(developer):
    """A starter plan's chart and daily aggregate over a year are governed by their cost, not the window."""
    series = developer.tenant.series_ids[0]
    bounds = f'from: "{format_timestamp(START_NS)}", to: "{format_timestamp(START_NS + 365 * DAY_NS)}"'
    query = (
        f'{{ aggregate(seriesId: "{series}", {bounds}, calendar: DAY) {{ count }}'
        f' chart(seriesId: "{series}", {bounds}, columns: 1000) {{ max }} }}'
    )
    async with developer.client() as client:
        assert (await client.post("/graphql", json={"query": query})).json() == {
            "data": {"aggregate": [], "chart": []}
        }


@pytest.mark.parametrize("plan", list(WINDOWS))
async def test_analytics_refuses_a_grpc_raw_read_past_the_window(stack, signer, pages, plan):
    """The second wall: ReadPoints and StreamPoints past the caller's plan's window are INVALID_ARGUMENT with
    reason TIME_RANGE_TOO_WIDE before any page is made; the widest range is read."""
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Window", series_count=1, plan=plan)
    metadata, series = _as(signer, tenant.id), tenant.series_ids[0]
    async with grpc.aio.insecure_channel(stack.targets["analytics"]) as channel:
        query = query_pb2_grpc.QueryServiceStub(channel)

        def read(end_ns: int, start_ns: int = START_NS):
            request = query_pb2.ReadPointsRequest(
                series_id=series, limit=10, range=common_pb2.TimeRange(start_ns=start_ns, end_ns=end_ns)
            )
            return query.ReadPoints(request, metadata=metadata, timeout=10)

        def stream(end_ns: int):
            request = query_pb2.StreamPointsRequest(
                series_id=series, page_size=10, range=common_pb2.TimeRange(start_ns=START_NS, end_ns=end_ns)
            )
            return drain(query.StreamPoints(request, metadata=metadata, timeout=10))

        assert not (await read(widest(plan))).has_more and pages.pages == 1  # read: one (empty) page
        assert await stream(widest(plan)) == []  # a range without points gives no message
        made = pages.pages
        for call in (read(widest(plan) + S), stream(widest(plan) + S), read(START_NS, 0)):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await call
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert reason_of(refused.value) == "TIME_RANGE_TOO_WIDE"
            assert f"at most {WINDOWS[plan]} days" in refused.value.details()
        assert pages.pages == made  # none of them read anything
        with pytest.raises(grpc.aio.AioRpcError) as empty:  # no end: an empty range, not an open one
            await read(0)
        assert reason_of(empty.value) == "EMPTY_RANGE"


async def test_a_shared_raw_read_past_the_window_is_refused_before_the_grant_is_asked(stack, signer):
    """ReadSharedPoints holds the grantee to its own plan's window before it asks tenancy about the grant:
    the window's refusal comes whatever the grant, and within the window the unknown grant is what is refused."""
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Grantee", series_count=1, plan="starter")
    metadata = _as(signer, tenant.id)
    async with grpc.aio.insecure_channel(stack.targets["analytics"]) as channel:
        shared = sharing_pb2_grpc.SharedQueryServiceStub(channel)

        async def refusal(end_ns: int) -> str:
            request = sharing_pb2.ReadSharedPointsRequest(
                grant_id=str(uuid.uuid4()),
                series_id=tenant.series_ids[0],
                limit=10,
                range=common_pb2.TimeRange(start_ns=START_NS, end_ns=end_ns),
            )
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await shared.ReadSharedPoints(request, metadata=metadata, timeout=10)
            return reason_of(refused.value)

        assert await refusal(widest("starter") + S) == "TIME_RANGE_TOO_WIDE"
        assert await refusal(widest("starter")) == "GRANT_NOT_FOUND"
