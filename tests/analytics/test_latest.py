"""Latest values: sought first in the newest partitions, then everywhere for series that were quiet."""

from __future__ import annotations

import time
import uuid

import grpc
import numpy as np

from sfcloud.v1 import query_pb2
from tests.analytics.helpers import Query, write_blocks

DAY_NS = 86400 * 10**9
HOUR_NS = 3600 * 10**9


async def test_recent_and_quiet_series_both_get_their_newest_point(stack, signer, admin_conn):
    tenant, recent, quiet, empty = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    now_hour = time.time_ns() // HOUR_NS * HOUR_NS
    for series_id, newest in ((recent, now_hour - HOUR_NS), (quiet, now_hour - 40 * DAY_NS)):
        # an old block, then the newest one an hour-aligned block later
        for start, value in ((now_hour - 60 * DAY_NS, 1.0), (newest, 2.0)):
            ts = start + np.arange(10, dtype=np.int64) * 10**9
            write_blocks(admin_conn, tenant, series_id, ts, np.full(10, value), [slice(0, 10)])
    async with grpc.aio.insecure_channel(stack.targets["analytics"]) as channel:
        query = Query(channel, signer, tenant)
        request = query_pb2.LatestValuesRequest(series_ids=[str(recent), str(quiet), str(empty)])
        reply = await query.stub.LatestValues(request, metadata=query.metadata, timeout=10)
    got = {v.series_id: (v.timestamp_ns, v.value) for v in reply.values}
    assert got == {
        str(recent): (now_hour - HOUR_NS + 9 * 10**9, 2.0),
        str(quiet): (now_hour - 40 * DAY_NS + 9 * 10**9, 2.0),
    }
