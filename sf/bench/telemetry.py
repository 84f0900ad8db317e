"""Ingest, storage and query figures, measured on the real stack on loopback.

The baseline is what a naive design would do on the same PostgreSQL in the
same run: a row per point, loaded with `COPY` and committed per batch, and
read back with a plain range `SELECT`.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid

import numpy as np
import psycopg

import tscodec
from services.ingest import partitions
from services.runtime.blocks import BLOCK_SPAN_NS
from services.runtime.cells import CellDatabases
from services.runtime.compaction import Job
from services.runtime.settings import DEFAULT_CELL
from services.worker.service import CompactionService
from sf.bench.databases import fresh_databases
from sf.bench.figures import Figure
from sf.inprocess import InProcessStack
from sf.seeding import create_tenant, send_batches
from sfcloud.v1 import common_pb2, ingest_pb2, query_pb2, query_pb2_grpc

SERIES = 10
DAY = 86_400
BATCH = 1_000  # points per series per batch: 10,000 points per acknowledged batch
# A plant's shape: many series, a few dozen points each per batch (90 s at 1 Hz), 90,000 points a batch
PLANT_SERIES, PLANT_BATCH, PLANT_BATCHES = 1_000, 90, 10
START_NS = 1_764_000_000 * 10**9


def day_of_data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """One day at 1 Hz of a sensor with 2 decimals: a slow wave, a random walk and noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(DAY)
    values = 60 + 5 * np.sin(t / 3_600) + np.cumsum(rng.normal(0, 0.02, DAY)) + rng.normal(0, 0.1, DAY)
    return START_NS + t.astype(np.int64) * 10**9, np.round(values, 2)


def batches(
    series_ids: list[str], data: list[tuple[np.ndarray, np.ndarray]]
) -> list[ingest_pb2.IngestRequest]:
    out = []
    for start in range(0, DAY, BATCH):
        entries = [
            ingest_pb2.SeriesPoints(
                series_id=sid,
                timestamps_ns=ts[start : start + BATCH].tolist(),
                values=vs[start : start + BATCH].tolist(),
            )
            for sid, (ts, vs) in zip(series_ids, data, strict=True)
        ]
        out.append(ingest_pb2.IngestRequest(batch_no=len(out) + 1, series=entries))
    return out


def copy_baseline(admin_url: str, data: list[tuple[np.ndarray, np.ndarray]]) -> tuple[float, int, float]:
    """Row-per-point COPY committed per batch: (points/s, bytes on disk, ms to read one day)."""
    with psycopg.connect(admin_url) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS public.bench_rows (series int, ts bigint, value float8)")
        conn.execute("CREATE INDEX IF NOT EXISTS bench_rows_series_ts ON public.bench_rows (series, ts)")
        conn.execute("TRUNCATE public.bench_rows")
        conn.commit()
        started = time.perf_counter()
        for start in range(0, DAY, BATCH):
            with conn.cursor().copy("COPY public.bench_rows (series, ts, value) FROM STDIN") as copy:
                for series, (ts, vs) in enumerate(data):
                    for row in zip(
                        ts[start : start + BATCH].tolist(), vs[start : start + BATCH].tolist(), strict=True
                    ):
                        copy.write_row((series, *row))
            conn.commit()
        rate = SERIES * DAY / (time.perf_counter() - started)
        conn.execute("VACUUM ANALYZE public.bench_rows") if conn.autocommit else None
        size = conn.execute("SELECT pg_total_relation_size('public.bench_rows')").fetchone()[0]
        read_ms = _best_ms(
            lambda: conn.execute(
                "SELECT ts, value FROM public.bench_rows WHERE series = 0 AND ts >= %s AND ts < %s ORDER BY ts",
                [START_NS, START_NS + DAY * 10**9],
            ).fetchall()
        )
        conn.execute("DROP TABLE public.bench_rows")
        conn.commit()
    return rate, size, read_ms


def _best_ms(work, repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best * 1000


async def measure(admin_url: str, redis_url: str) -> dict[str, Figure]:
    from services.runtime.tokens import TokenSigner

    key = secrets.token_urlsafe(48)
    stack = await InProcessStack(admin_url, redis_url, key).start()
    try:
        with psycopg.connect(admin_url, autocommit=True) as conn:  # the week's partition, as a live cell has
            partitions.ensure(conn, START_NS, START_NS + DAY * 10**9)
        tenant = await create_tenant(stack.targets["tenancy"], TokenSigner(key), "Bench", series_count=SERIES)
        data = [day_of_data(i) for i in range(SERIES)]
        requests = batches(tenant.series_ids, data)
        started = time.perf_counter()
        acks = await send_batches(stack.targets["ingest"], tenant.credential, requests)
        rate = sum(a.points_stored for a in acks) / (time.perf_counter() - started)
        read_ms = await _grpc_read_day_ms(stack, TokenSigner(key), tenant)
        await _compact_day(admin_url, tenant)
        stored, codec_bytes = _stored_bytes(admin_url)
        blocks_rate = await _blocks_rate(stack, TokenSigner(key))
        many_series_rate = await _many_series_rate(stack, TokenSigner(key))
    finally:
        await stack.stop()
    baseline_rate, baseline_size, baseline_read_ms = copy_baseline(admin_url, data)
    points = SERIES * DAY
    return {
        "ingest.plain.points_per_s": Figure(rate, "points/s", baseline_rate, higher_is_better=True),
        "ingest.blocks.points_per_s": Figure(blocks_rate, "points/s", baseline_rate, higher_is_better=True),
        # beside the few-series figure of the same run: the ratio is what the plant's shape costs
        "ingest.plain_many_series.points_per_s": Figure(
            many_series_rate, "points/s", rate, higher_is_better=True
        ),
        "storage.bytes_per_point": Figure(stored / points, "bytes/point", baseline_size / points),
        "storage.codec_bytes_per_point": Figure(codec_bytes / points, "bytes/point"),
        "query.raw_day_ms": Figure(read_ms, "ms", baseline_read_ms),
    }


async def _compact_day(admin_url: str, tenant) -> None:
    """Every hour of every series compacted, as the worker does once an hour has closed."""
    cells = CellDatabases.of_role(admin_url, {}, "sf_worker", None, "bench-worker")
    await cells.open_all()
    try:
        compactor = CompactionService(cells)
        first_hour = START_NS // BLOCK_SPAN_NS
        for series in tenant.series_ids:
            for hour in range(first_hour, first_hour + DAY * 10**9 // BLOCK_SPAN_NS):
                await compactor.compact(Job(DEFAULT_CELL, tenant.id, uuid.UUID(series), hour))
    finally:
        await cells.close_all()


def _stored_bytes(admin_url: str) -> tuple[int, int]:
    """(bytes on disk of the partitions holding the data, with TOAST and indexes; bytes of the payloads).

    Measured after VACUUM FULL: the live rows' footprint. Compaction deletes the small blocks; in a
    running cell autovacuum makes their space reusable by the next writes rather than returning it.
    The empty weeks prepared ahead (about 100 KB each with their index pages) are a cost per cell, not
    per point, and are left out.
    """
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("VACUUM FULL telemetry.blocks")
        return conn.execute(
            "SELECT (SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree('telemetry.blocks')"
            "   WHERE relid IN (SELECT tableoid FROM telemetry.blocks))::bigint,"
            " (SELECT sum(octet_length(payload_chunks) + octet_length(payload_rest)) FROM telemetry.blocks)::bigint"
        ).fetchone()


async def _blocks_rate(stack: InProcessStack, signer) -> float:
    """The same day sent as compressed blocks made on the device (10,800 points per series per batch)."""
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Bench blocks", series_count=SERIES)
    data = [day_of_data(100 + i) for i in range(SERIES)]
    step = DAY // 8
    requests = [
        ingest_pb2.IngestRequest(
            batch_no=n + 1,
            blocks=[
                ingest_pb2.SeriesBlock(
                    series_id=sid,
                    payload=tscodec.encode(ts[n * step : (n + 1) * step], vs[n * step : (n + 1) * step]),
                )
                for sid, (ts, vs) in zip(tenant.series_ids, data, strict=True)
            ],
        )
        for n in range(8)
    ]
    started = time.perf_counter()
    acks = await send_batches(stack.targets["ingest"], tenant.credential, requests)
    return sum(a.points_stored for a in acks) / (time.perf_counter() - started)


async def _many_series_rate(stack: InProcessStack, signer) -> float:
    """Plain points as a plant sends them: 1,000 series of 90 points (1 Hz) per batch, 10 batches, over one
    stream like ``ingest.plain``; every series' 15 minutes lie in one hour, so each batch writes 1,000 blocks."""
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Bench plant", series_count=PLANT_SERIES)
    rng = np.random.default_rng(7)
    seconds = PLANT_BATCH * PLANT_BATCHES
    values = np.round(60 + np.cumsum(rng.normal(0, 0.02, (PLANT_SERIES, seconds)), axis=1), 2)
    timestamps = START_NS + np.arange(seconds, dtype=np.int64) * 10**9
    requests = [
        ingest_pb2.IngestRequest(
            batch_no=n + 1,
            series=[
                ingest_pb2.SeriesPoints(
                    series_id=sid,
                    timestamps_ns=timestamps[n * PLANT_BATCH : (n + 1) * PLANT_BATCH].tolist(),
                    values=values[row, n * PLANT_BATCH : (n + 1) * PLANT_BATCH].tolist(),
                )
                for row, sid in enumerate(tenant.series_ids)
            ],
        )
        for n in range(PLANT_BATCHES)
    ]
    started = time.perf_counter()
    acks = await send_batches(stack.targets["ingest"], tenant.credential, requests)
    return sum(a.points_stored for a in acks) / (time.perf_counter() - started)


def reader_metadata(signer, tenant_id) -> tuple:
    """gRPC metadata of a service principal reading for the tenant, as the GraphQL gateway sends it."""
    from services.runtime.principal import Kind, Principal
    from services.runtime.tokens import METADATA_KEY

    return ((METADATA_KEY, signer.sign(Principal(Kind.SERVICE, "bench", tenant_id=tenant_id))),)


async def _grpc_read_day_ms(stack: InProcessStack, signer, tenant) -> float:
    import grpc

    metadata = reader_metadata(signer, tenant.id)
    request = query_pb2.ReadPointsRequest(
        series_id=tenant.series_ids[0],
        limit=100_000,
        range=common_pb2.TimeRange(start_ns=START_NS, end_ns=START_NS + DAY * 10**9),
    )
    async with grpc.aio.insecure_channel(stack.targets["analytics"]) as channel:
        stub = query_pb2_grpc.QueryServiceStub(channel)
        best = float("inf")
        for _ in range(5):
            started = time.perf_counter()
            response = await stub.ReadPoints(request, metadata=metadata, timeout=30)
            best = min(best, time.perf_counter() - started)
        assert len(response.timestamps_ns) == DAY
    return best * 1000


def run() -> dict[str, Figure]:
    with fresh_databases() as (admin_url, redis_url):
        return asyncio.run(measure(admin_url, redis_url))
