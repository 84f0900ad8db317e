"""Validation is remembered per (document, plan limits, variables): a repeated request skips it, and
nothing a plan or a variable would refuse slips through on another request's answer."""

from __future__ import annotations

from types import SimpleNamespace

from gateway.graphql.schema import build_schema
from gateway.plans import ApiLimits

POINTS = """query ($n: Int!) { points(seriesId: "00000000-0000-0000-0000-000000000000",
  from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z", first: $n) { hasMore } }"""
DEEP = "{ __schema { types { fields { type { ofType { name } } } } } }"


def reasons(result) -> list[str]:
    return [(e.extensions or {}).get("reason", e.message) for e in result.errors or []]


async def test_a_repeated_request_is_validated_once():
    schema, context = build_schema(), SimpleNamespace(limits=ApiLimits())
    first = await schema.execute("{ __typename }", context_value=context)
    again = await schema.execute("{ __typename }", context_value=context)
    assert first.data == again.data == {"__typename": "Query"} and schema.validations.hits == 1


async def test_variables_and_plans_each_get_their_own_answer():
    schema = build_schema()
    roomy, tight = SimpleNamespace(limits=ApiLimits()), SimpleNamespace(limits=ApiLimits(graphql_max_depth=1))
    cheap = await schema.execute(POINTS, variable_values={"n": 10}, context_value=roomy)
    assert "QUERY_TOO_COSTLY" not in reasons(cheap)  # it passes validation (and then fails to run here)
    costly = await schema.execute(POINTS, variable_values={"n": 10_000_000}, context_value=roomy)
    assert reasons(costly) == ["QUERY_TOO_COSTLY"]  # same document, other variables: validated again
    assert (await schema.execute(DEEP, context_value=roomy)).errors is None  # introspection is not limited
    deep_query = "{ machines { series { machineId } } }"
    allowed = await schema.execute(deep_query, context_value=roomy)
    refused = await schema.execute(deep_query, context_value=tight)
    assert not any("depth" in r for r in reasons(allowed))
    assert any("exceeds maximum operation depth" in r for r in reasons(refused)), reasons(refused)


async def test_a_plans_raw_window_gets_its_own_answer():
    """A raw read a year-long plan allows is refused under a week's window, though the document is the same."""
    schema = build_schema()
    year, week = SimpleNamespace(limits=ApiLimits(raw_window_days=366)), SimpleNamespace(limits=ApiLimits())
    wide = POINTS.replace("2026-01-02", "2026-12-31")
    assert "TIME_RANGE_TOO_WIDE" not in reasons(await schema.execute(wide, {"n": 10}, context_value=year))
    assert reasons(await schema.execute(wide, {"n": 10}, context_value=week)) == ["TIME_RANGE_TOO_WIDE"]
