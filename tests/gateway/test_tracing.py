"""Every GraphQL operation is one span named after it, child of the HTTP span and parent of the
gRPC calls its resolvers and DataLoaders make (an in-memory exporter records the real spans)."""

from __future__ import annotations

from opentelemetry.trace import SpanKind

from tests.gateway.conftest import serves

DASHBOARD = "query Dashboard { machines { name series { name latest { value } } } }"


def children(spans, parent) -> set[str]:
    return {s.name for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id}


async def test_a_named_query_is_a_span_parent_of_its_grpc_calls(developer, spans):
    spans.clear()
    async with developer.client() as client:
        response = await client.post("/graphql", json={"query": DASHBOARD})
    assert "errors" not in response.json(), response.text
    finished = spans.get_finished_spans()
    (operation,) = [s for s in finished if s.name == "query Dashboard"]
    assert operation.attributes["graphql.operation.type"] == "query"
    assert operation.attributes["graphql.operation.name"] == "Dashboard"
    grpc_calls = [s for s in finished if s.kind is SpanKind.CLIENT and s.name.startswith("/sfcloud.v1.")]
    assert children(grpc_calls, operation) == {
        "/sfcloud.v1.TenancyService/ListAssets",
        "/sfcloud.v1.TenancyService/ListSeries",  # one batch for every machine (DataLoader)
        "/sfcloud.v1.QueryService/LatestValues",  # one batch for every series
    }
    http = next(s for s in finished if s.context.span_id == operation.parent.span_id)
    assert http.context.trace_id == operation.context.trace_id and http.name.startswith("POST /graphql")
    # the key (and the plan, unless remembered) are looked up before the operation, in the HTTP span
    assert "/sfcloud.v1.TenancyService/AuthenticateApiKey" in children(grpc_calls, http)


async def test_anonymous_operations_are_named_by_their_type_and_refusals_are_errors(developer, spans):
    spans.clear()
    async with developer.client() as client:
        await serves(client)  # `query Small`
        await client.post("/graphql", json={"query": "{ me { kind } }"})
        await client.post("/graphql", json={"query": 'mutation { revokeSession(id: "x") { __typename } }'})
        await client.post("/graphql", json={"query": "{ nothing }"})
    names = [s.name for s in spans.get_finished_spans() if s.attributes.get("graphql.operation.type")]
    assert names == ["query Small", "query", "mutation", "query"]
    refused = [s for s in spans.get_finished_spans() if s.name == "query"][-1]
    assert not refused.status.is_ok
