"""RELIABILITY D6: what the compaction sweep costs on a cell of realistic size, every interval, when nothing was
lost: 3,000 series at 1 Hz (30 tenants of 100) compacted for two days (a block an hour each: 144,000 blocks
in its window, rows of realistic width), and one tenant's 30 hours whose notices Redis lost (360 blocks
each). The figure is printed; the bound only catches a sweep gone quadratic or off its index."""

from __future__ import annotations

import os
import statistics
import time
import uuid

import pytest

from services.runtime.compaction import DUE_KEY, HOUR_NS
from services.runtime.settings import DEFAULT_CELL
from services.worker.compaction_sweep import CompactionSweep, Window
from services.worker.directory import TenantRetention
from tests.worker.conftest import closed_hour

pytestmark = pytest.mark.slow
TENANTS, SERIES, HOURS = 30, 100, 48
LOST_SERIES, LOST_HOURS, LOST_BLOCKS = 10, 3, 360
ROW_BYTES = 800  # a compacted 1 Hz hour keeps ~0.8 KB of its payload in the row (migration 0018)
COLUMNS = (
    "tenant_id, series_id, start_ns, end_ns, count, min_value, max_value, sum_value, first_value, last_value"
)


class Listed:
    def __init__(self, tenants: list[uuid.UUID]) -> None:
        self._tenants = [TenantRetention(t, DEFAULT_CELL, "basic", None) for t in tenants]

    async def tenants(self) -> list[TenantRetention]:
        return self._tenants


def fill(admin_conn, newest_hour: int) -> tuple[list[uuid.UUID], int]:
    """The cell's blocks and latest points; the tenants, and how many hours were left uncompacted."""
    tenants = [uuid.uuid4() for _ in range(TENANTS)]
    payloads = [os.urandom(ROW_BYTES) for _ in range(256)]  # random: nothing for pglz to shrink
    hours = range(newest_hour - HOURS + 1, newest_hour + 1)
    latest = []
    with admin_conn.cursor().copy(
        f"COPY telemetry.blocks ({COLUMNS}, payload_chunks, payload_rest) FROM STDIN"
    ) as copy:
        for n, (tenant, series) in enumerate((t, uuid.uuid4()) for t in tenants for _ in range(SERIES)):
            for hour in hours:
                start = hour * HOUR_NS
                copy.write_row(
                    [
                        tenant,
                        series,
                        start,
                        start + HOUR_NS - 10**9,
                        3600,
                        0,
                        1,
                        1800,
                        0,
                        1,
                        b"",
                        payloads[n % 256],
                    ]
                )
            if tenant == tenants[0] and n < LOST_SERIES:  # hours whose notices were lost: many small blocks
                for hour in hours[-LOST_HOURS:]:
                    for i in range(LOST_BLOCKS):
                        start = hour * HOUR_NS + i * 10**10
                        copy.write_row(
                            [tenant, series, start, start + 9 * 10**9, 10, 0, 1, 5, 0, 1, b"", b"x"]
                        )
            latest.append((tenant, series, (newest_hour + 1) * HOUR_NS - 1, 1.0))
    with admin_conn.cursor().copy("COPY telemetry.series_latest FROM STDIN") as copy:
        for row in latest:
            copy.write_row(row)
    admin_conn.execute("ANALYZE telemetry.blocks")
    admin_conn.execute("ANALYZE telemetry.series_latest")
    return tenants, LOST_SERIES * LOST_HOURS


async def test_a_compaction_sweep_of_a_realistic_cell_finds_the_lost_hours_quickly(
    admin_conn, worker_cells, crashable
):
    """RELIABILITY D6: a pass over the cell finds exactly the hours left uncompacted; its time is printed."""
    _, client = crashable
    newest = closed_hour(3)
    tenants, lost = fill(admin_conn, newest)
    try:
        window = Window(lookback_h=HOURS, after_s=2 * 3600)
        sweep = CompactionSweep(client, worker_cells, Listed(tenants), 4096, window)
        timings = []
        for _ in range(3):
            await client.delete(DUE_KEY)
            started = time.perf_counter()
            assert await sweep.run_pass() == lost
            timings.append(time.perf_counter() - started)
        print(
            f"compaction sweep: {TENANTS * SERIES * HOURS:,} compacted blocks in its window over {TENANTS} tenants,"
            f" {lost} lost hours found; pass {statistics.median(timings) * 1000:.0f} ms (median of 3:"
            f" {', '.join(f'{t * 1000:.0f}' for t in timings)})"
        )
        assert statistics.median(timings) < 10
    finally:
        for tenant in tenants:
            admin_conn.execute("DELETE FROM telemetry.blocks WHERE tenant_id = %s", [tenant])
            admin_conn.execute("DELETE FROM telemetry.series_latest WHERE tenant_id = %s", [tenant])
