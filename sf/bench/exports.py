"""`programme.export_points_per_s` (issue #10): a tenant of 10 million points exported by the worker and
imported into another tenant, in points per second of the two together, beside a plain PostgreSQL
``COPY`` of the same rows out of a row table and into another as baseline.

The source data is loaded directly, as blocks made exactly as ingest makes them (one per series per UTC
hour: 10 series of 1 M points at 1 Hz, the sensor signal of the query figures) and, for the baseline, as
rows ``(series_id uuid, ts bigint, value float8)`` by binary COPY; neither load is timed. Timed: the export
(StartExport through the worker's gRPC API until its GetExport says done: decoding, Parquet, the .zip) plus
`sf import` of that package into an empty tenant (checksums, Parquet, encoding, one transaction of blocks);
and for the baseline ``COPY (SELECT ...) TO STDOUT (FORMAT binary)`` into a file plus ``COPY ... FROM
STDIN (FORMAT binary)`` of that file into an empty table without indexes. The round trip is then checked
bit for bit: every point of every series, decoded on both sides.
"""

from __future__ import annotations

import asyncio
import secrets
import tempfile
import time
import uuid
from pathlib import Path

import grpc
import numpy as np
import psycopg

import tscodec
from services.runtime.config import Env
from services.runtime.principal import Kind, Principal, Role
from services.runtime.tokens import METADATA_KEY, TokenSigner
from sf.bench.databases import fresh_databases
from sf.bench.figures import Figure
from sf.bench.queries import copy_rows, sensor, write_blocks
from sf.imports import run_import
from sf.inprocess import InProcessStack
from sf.seeding import OPERATOR, create_tenant
from sfcloud.v1 import export_pb2, export_pb2_grpc, tenancy_pb2_grpc
from sfcloud.v1 import tenancy_pb2 as pb

SERIES = 10
POINTS_PER_SERIES = 1_000_000
HOUR_NS = 3_600 * 10**9
START_NS = (time.time_ns() // HOUR_NS) * HOUR_NS - 30 * 86_400 * 10**9


def load(admin_url: str, tenant_id: uuid.UUID, series_ids: list[str]) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.bench_points (series_id uuid, ts bigint, value float8)")
        for n, sid in enumerate(series_ids):
            ts, vs = sensor(START_NS, POINTS_PER_SERIES, 1, seed=200 + n)
            with conn.transaction():
                write_blocks(conn, tenant_id, uuid.UUID(sid), ts, vs)
                copy_rows(conn, uuid.UUID(sid), ts, vs)
        conn.execute("VACUUM ANALYZE telemetry.blocks")
        conn.execute("VACUUM ANALYZE public.bench_points")


def copy_baseline_s(admin_url: str, folder: Path) -> tuple[float, int]:
    """Seconds of COPY out to a file and COPY in from it, and the rows copied in."""
    dump = folder / "rows.copy"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.bench_points_in (series_id uuid, ts bigint, value float8)")
        started = time.perf_counter()
        with (
            dump.open("wb") as f,
            conn.cursor().copy(
                "COPY (SELECT series_id, ts, value FROM public.bench_points) TO STDOUT (FORMAT binary)"
            ) as copy,
        ):
            for data in copy:
                f.write(data)
        with (
            dump.open("rb") as f,
            conn.cursor().copy("COPY public.bench_points_in FROM STDIN (FORMAT binary)") as copy,
        ):
            while data := f.read(1 << 20):
                copy.write(data)
        seconds = time.perf_counter() - started
        rows = conn.execute("SELECT count(*) FROM public.bench_points_in").fetchone()[0]
    return seconds, rows


async def export_s(stack: InProcessStack, signer: TokenSigner, tenant_id: uuid.UUID) -> tuple[float, str]:
    """Seconds from StartExport to done (polled every 20 ms), and the export's id."""
    owner = Principal(Kind.USER, str(uuid.uuid4()), tenant_id=tenant_id, role=Role.OWNER)
    metadata = ((METADATA_KEY, signer.sign(owner)),)
    async with grpc.aio.insecure_channel(stack.targets["worker"]) as channel:
        exports = export_pb2_grpc.ExportServiceStub(channel)
        started = time.perf_counter()
        export = (
            await exports.StartExport(export_pb2.StartExportRequest(), metadata=metadata, timeout=10)
        ).export
        while export.state not in (export_pb2.EXPORT_STATE_DONE, export_pb2.EXPORT_STATE_FAILED):
            await asyncio.sleep(0.02)
            request = export_pb2.GetExportRequest(export_id=export.id)
            export = (await exports.GetExport(request, metadata=metadata, timeout=10)).export
        seconds = time.perf_counter() - started
    assert export.state == export_pb2.EXPORT_STATE_DONE, export.error
    assert export.points_done == SERIES * POINTS_PER_SERIES, export
    return seconds, export.id


def check(admin_url: str, series: dict[uuid.UUID, uuid.UUID]) -> None:
    """Every point of every series the same, bit for bit, in the source and the imported tenant."""
    with psycopg.connect(admin_url) as conn:
        for old, new in series.items():
            a, b = (_points(conn, sid) for sid in (old, new))
            assert np.array_equal(a[0], b[0]) and np.array_equal(a[1].view(np.uint64), b[1].view(np.uint64))
            assert a[0].size == POINTS_PER_SERIES


def _points(conn: psycopg.Connection, series_id: uuid.UUID) -> tuple[np.ndarray, np.ndarray]:
    rows = conn.execute(
        "SELECT payload_chunks || payload_rest FROM telemetry.blocks WHERE series_id = %s ORDER BY start_ns",
        [series_id],
    ).fetchall()
    parts = [tscodec.decode(p) for (p,) in rows]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


async def measure(admin_url: str, redis_url: str, folder: Path) -> dict[str, Figure]:
    key = secrets.token_urlsafe(48)
    signer = TokenSigner(key)
    stack = await InProcessStack(admin_url, redis_url, key, export_dir=str(folder / "exports")).start()
    try:
        source = await create_tenant(stack.targets["tenancy"], signer, "Bench export", series_count=SERIES)
        await asyncio.to_thread(load, admin_url, source.id, source.series_ids)
        exported_s, export_id = await export_s(stack, signer, source.id)
        target = await _empty_tenant(stack, signer)
        package = folder / "exports" / str(source.id) / f"{export_id}.zip"
        started = time.perf_counter()
        report = await run_import(package, target, Env({"SF_DATABASE_URL": admin_url}))
        imported_s = time.perf_counter() - started
    finally:
        await stack.stop()
    points = SERIES * POINTS_PER_SERIES
    assert report.points == points
    await asyncio.to_thread(check, admin_url, report.series)
    baseline_s, rows = await asyncio.to_thread(copy_baseline_s, admin_url, folder)
    assert rows == points
    return {
        "programme.export_points_per_s": Figure(
            points / (exported_s + imported_s), "points/s", points / baseline_s, higher_is_better=True
        )
    }


async def _empty_tenant(stack: InProcessStack, signer: TokenSigner) -> uuid.UUID:
    """A tenant with no plant (a site's name is unique within its tenant)."""
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
        stub = tenancy_pb2_grpc.TenancyServiceStub(channel)
        request = pb.CreateTenantRequest(name=f"Bench import {secrets.token_hex(4)}", plan_code="enterprise")
        created = await stub.CreateTenant(
            request, metadata=((METADATA_KEY, signer.sign(OPERATOR)),), timeout=10
        )
    return uuid.UUID(created.tenant.id)


def run() -> dict[str, Figure]:
    with (
        fresh_databases() as (admin_url, redis_url),
        tempfile.TemporaryDirectory(prefix="sf-bench-") as folder,
    ):
        return asyncio.run(measure(admin_url, redis_url, Path(folder)))
