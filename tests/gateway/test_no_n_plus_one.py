"""No N+1: a dashboard over many machines and series makes the same three gRPC calls as over one,
because the resolvers go through the request's DataLoaders (counted from the real client spans)."""

from __future__ import annotations

import collections
import uuid

from opentelemetry.trace import SpanKind

from services.runtime.principal import Kind, Principal, Role
from sf.seeding import create_tenant, one_value_each, send_batches
from sfcloud.v1 import tenancy_pb2 as pb
from tests.gateway.conftest import Developer

DASHBOARD = "query Dashboard { machines { name line site series { name unit latest { value } } } }"
WITH_FRAGMENT = """query Dashboard { machines { name series { ...Tag } } }
fragment Tag on Series { name latest { value } }"""


async def test_a_dashboard_of_five_machines_and_twenty_series_makes_three_calls(
    stack, signer, tenancy, spans
):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Dashboard", series_count=4, machines=5)
    owner = Principal(Kind.USER, str(uuid.uuid4()), tenant_id=tenant.id, role=Role.OWNER)
    key = (
        await tenancy.call("CreateApiKey", pb.CreateApiKeyRequest(name="dash", scopes=["read"]), owner)
    ).key
    await send_batches(stack.targets["ingest"], tenant.credential, [one_value_each(tenant.series_ids, 2.5)])
    for query in (DASHBOARD, WITH_FRAGMENT):
        spans.clear()
        async with Developer(tenant, key, stack.gateway_url).client() as client:
            response = await client.post("/graphql", json={"query": query})
        machines = response.json()["data"]["machines"]
        assert len(machines) == 5 and sum(len(m["series"]) for m in machines) == 20
        assert all(s["latest"]["value"] == 2.5 for m in machines for s in m["series"])
        finished = spans.get_finished_spans()
        (operation,) = [s for s in finished if s.name == "query Dashboard"]
        calls = collections.Counter(
            s.name
            for s in finished
            if s.kind is SpanKind.CLIENT
            and s.parent is not None
            and s.parent.span_id == operation.context.span_id
        )
        assert calls == {
            "/sfcloud.v1.TenancyService/ListAssets": 1,
            "/sfcloud.v1.TenancyService/ListSeries": 1,  # every machine's series in one call
            "/sfcloud.v1.QueryService/LatestValues": 1,  # every series' latest value in one call
        }, query
