"""Two values for one (series, timestamp): the first stored wins; later ones are dropped and counted,
never silently, even when two batches race."""

from __future__ import annotations

import asyncio
import time

import numpy as np

from sfcloud.v1 import ingest_pb2
from tests.e2e.provision import create_tenant, send_batches
from tests.e2e.test_blocks import read


def points(
    series_id: str, timestamps: np.ndarray, values: np.ndarray, batch_no: int = 1
) -> ingest_pb2.IngestRequest:
    return ingest_pb2.IngestRequest(
        batch_no=batch_no,
        series=[
            ingest_pb2.SeriesPoints(
                series_id=series_id, timestamps_ns=timestamps.tolist(), values=values.tolist()
            )
        ],
    )


def conflicts_counted(admin_conn, tenant_id) -> int:
    return admin_conn.execute(
        "SELECT coalesce(sum(conflicts), 0) FROM telemetry.usage_daily WHERE tenant_id = %s", [tenant_id]
    ).fetchone()[0]


async def test_first_write_wins_and_every_conflict_is_counted(stack, signer, admin_conn):
    """RELIABILITY D3: 1,000 changed values: the first stored wins, and the conflict counter rises by exactly 1,000."""
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Conflicts")
    timestamps = time.time_ns() - 10**12 + np.arange(1_000, dtype=np.int64) * 10**6
    first = await send_batches(
        stack.targets["ingest"],
        tenant.credential,
        [points(tenant.series_ids[0], timestamps, np.arange(1_000.0))],
    )
    changed = await send_batches(
        stack.targets["ingest"],
        tenant.credential,
        [points(tenant.series_ids[0], timestamps, np.arange(1_000.0) + 0.5)],
    )
    assert (first[0].points_stored, first[0].conflicts) == (1_000, 0)
    assert (changed[0].points_stored, changed[0].conflicts) == (0, 1_000)
    got_t, got_v = await read(stack, signer, tenant, tenant.series_ids[0])
    assert np.array_equal(got_t, timestamps) and np.array_equal(got_v, np.arange(1_000.0))
    assert conflicts_counted(admin_conn, tenant.id) == 1_000


async def test_a_repeated_timestamp_within_a_batch_keeps_the_first(stack, signer, admin_conn):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Conflicts in batch")
    t = time.time_ns() - 10**9
    acks = await send_batches(
        stack.targets["ingest"],
        tenant.credential,
        [points(tenant.series_ids[0], np.array([t, t, t + 1]), np.array([1.0, 2.0, 3.0]))],
    )
    assert (acks[0].points_stored, acks[0].conflicts) == (2, 1)
    assert (await read(stack, signer, tenant, tenant.series_ids[0]))[1].tolist() == [1.0, 3.0]


async def test_racing_batches_store_each_timestamp_once(stack, signer, admin_conn):
    """RELIABILITY D3: Racing writers of one series store each timestamp once; every loser is counted."""
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Conflicts race")
    timestamps = time.time_ns() - 10**12 + np.arange(500, dtype=np.int64) * 10**6
    requests = [points(tenant.series_ids[0], timestamps, np.full(500, float(n))) for n in range(4)]
    acks = await asyncio.gather(
        *(send_batches(stack.targets["ingest"], tenant.credential, [r]) for r in requests)
    )
    assert sum(a[0].points_stored for a in acks) == 500 and sum(a[0].conflicts for a in acks) == 1_500
    got_t, got_v = await read(stack, signer, tenant, tenant.series_ids[0])
    assert got_t.size == 500 and len(set(got_v.tolist())) == 1
    assert conflicts_counted(admin_conn, tenant.id) == 1_500
