"""Latest values: kept by ingest with every batch, only ever moving forward, one tenant's never another's."""

from __future__ import annotations

import time
import uuid

import grpc
import numpy as np

from sfcloud.v1 import query_pb2
from tests.analytics.helpers import Query
from tests.e2e.provision import create_tenant, send_batches
from tests.e2e.test_bad_input import batch

DAY_NS = 86400 * 10**9
HOUR_NS = 3600 * 10**9


async def latest(stack, signer, tenant_id, series_ids: list[str]) -> dict[str, tuple[int, float]]:
    async with grpc.aio.insecure_channel(stack.targets["analytics"]) as channel:
        query = Query(channel, signer, tenant_id)
        request = query_pb2.LatestValuesRequest(series_ids=series_ids)
        reply = await query.stub.LatestValues(request, metadata=query.metadata, timeout=10)
    return {v.series_id: (v.timestamp_ns, v.value) for v in reply.values}


async def test_the_newest_point_of_each_series_and_only_forward(stack, signer):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Latest", series_count=3)
    recent, quiet, empty = tenant.series_ids
    now = time.time_ns() // HOUR_NS * HOUR_NS
    sends = [  # (series, first timestamp, value): the quiet series last sent 40 days ago
        (recent, now - 60 * DAY_NS, 1.0),
        (quiet, now - 40 * DAY_NS, 2.0),
        (recent, now - HOUR_NS, 3.0),
        (recent, now - 2 * HOUR_NS, 4.0),  # late: older than what is stored, so not the newest
    ]
    requests = [
        batch(series, (start + np.arange(10, dtype=np.int64) * 10**9).tolist(), [value] * 10, n + 1)
        for n, (series, start, value) in enumerate(sends)
    ]
    await send_batches(stack.targets["ingest"], tenant.credential, requests)
    assert await latest(stack, signer, tenant.id, [recent, quiet, empty, str(uuid.uuid4())]) == {
        recent: (now - HOUR_NS + 9 * 10**9, 3.0),
        quiet: (now - 40 * DAY_NS + 9 * 10**9, 2.0),
    }
    other = await create_tenant(stack.targets["tenancy"], signer, "Latest, another", series_count=1)
    assert await latest(stack, signer, other.id, [recent, quiet]) == {}  # row-level security
