"""One trace covers the gateway's HTTP span, the service's gRPC span and the database spans."""

from __future__ import annotations

from opentelemetry.trace import SpanKind

from gateway.graphql.scalars import format_timestamp
from tests.e2e.provision import GraphQLClient, create_tenant


async def test_one_trace_from_gateway_to_database(stack, signer, spans):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Traced")
    client = await GraphQLClient.login(stack.gateway_url, tenant.owner_email, tenant.owner_password)
    spans.clear()
    try:
        body = await client.query(
            "query ($id: ID!, $from: Timestamp!, $to: Timestamp!) { points(seriesId: $id, from: $from, to: $to) { hasMore } }",
            id=tenant.series_ids[0],
            **{"from": format_timestamp(0), "to": format_timestamp(86_400 * 10**9)},
        )
    finally:
        await client.close()
    assert body["data"]["points"]["hasMore"] is False
    finished = spans.get_finished_spans()
    http = next(s for s in finished if s.kind is SpanKind.SERVER and s.name.startswith("POST /graphql"))
    trace = [s for s in finished if s.context.trace_id == http.context.trace_id]
    grpc_servers = {s.name for s in trace if s.kind is SpanKind.SERVER and s.name.startswith("/sfcloud.v1.")}
    assert {"/sfcloud.v1.TenancyService/ListSeries", "/sfcloud.v1.QueryService/ReadPoints"} <= grpc_servers
    servers = [s for s in trace if s.kind is SpanKind.SERVER and s.name in grpc_servers]
    assert all(s.parent is not None and s.parent.is_remote for s in servers)  # context crossed a real socket
    database = [s for s in trace if s.kind is SpanKind.CLIENT and s.name == "SELECT"]
    assert len(database) >= 2, sorted({s.name for s in trace})
    read = next(s for s in servers if s.name == "/sfcloud.v1.QueryService/ReadPoints")
    assert read.attributes["sf.tenant_id"] == str(tenant.id)
