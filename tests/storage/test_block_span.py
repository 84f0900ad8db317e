"""A block lies within one UTC hour: ingest splits batches there, and readers rely on it to bound scans."""

from __future__ import annotations

import time

import numpy as np

import tscodec
from services.runtime.blocks import BLOCK_SPAN_NS, hour_runs
from sf.seeding import send_batches
from sfcloud.v1 import ingest_pb2
from tests.e2e.provision import create_tenant

HOUR = BLOCK_SPAN_NS


def test_hour_runs_cut_sorted_times_at_each_utc_hour():
    ts = np.array([-1, 0, HOUR - 1, HOUR, HOUR, 3 * HOUR + 5], dtype=np.int64)
    assert [(r.start, r.stop) for r in hour_runs(ts)] == [(0, 1), (1, 3), (3, 5), (5, 6)]
    assert [(r.start, r.stop) for r in hour_runs(np.array([7], dtype=np.int64))] == [(0, 1)]


async def test_batches_and_device_blocks_spanning_hours_are_stored_one_block_per_hour(
    stack, signer, admin_conn
):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Block span")
    start = (time.time_ns() // HOUR - 5) * HOUR + HOUR // 2  # half past, five hours ago
    plain_ts = [start + i * 60 * 10**9 for i in range(150)]  # 2.5 hours a minute apart
    block_ts = np.array(plain_ts, dtype=np.int64) + 1
    values = np.arange(150, dtype=np.float64)
    request = ingest_pb2.IngestRequest(
        batch_no=1,
        series=[
            ingest_pb2.SeriesPoints(series_id=tenant.series_ids[0], timestamps_ns=plain_ts, values=values)
        ],
        blocks=[
            ingest_pb2.SeriesBlock(series_id=tenant.series_ids[1], payload=tscodec.encode(block_ts, values))
        ],
    )
    [ack] = await send_batches(stack.targets["ingest"], tenant.credential, [request])
    assert ack.points_stored == 300
    rows = admin_conn.execute(
        "SELECT series_id::text, start_ns, end_ns, payload_chunks || payload_rest FROM telemetry.blocks"
        " WHERE tenant_id = %s ORDER BY 1, 2",
        [tenant.id],
    ).fetchall()
    for series_id in tenant.series_ids[:2]:
        blocks = [r for r in rows if r[0] == series_id]
        assert len(blocks) == 3  # the 2.5 hours from half past touch three hours
        assert all(start_ns // HOUR == end_ns // HOUR for _, start_ns, end_ns, _ in blocks)
        decoded = np.concatenate([tscodec.decode(payload)[1] for *_, payload in blocks])
        assert decoded.tolist() == values.tolist()
