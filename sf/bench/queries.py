"""Query figures over a year of one series (issue #6), each beside the same query on a row table.

The data is loaded directly, not through ingest: a year of 1 Hz points is 31.5 M points, and ingest has its
own figures. The blocks are made exactly as ingest makes them (``encode_block`` per UTC hour) and written as
the admin, with each series' newest point as ingest keeps it; the row table
``(series_id uuid, ts bigint, value float8, PRIMARY KEY (series_id, ts))`` gets the same points by
binary ``COPY`` (the primary key is built after the load, as one would for a bulk load).
The engine is asked through the real analytics gRPC service; the baselines are plain SQL on the same
PostgreSQL, so both sides pay a round trip and the ratio compares storage and query designs.
"""

from __future__ import annotations

import asyncio
import secrets
import statistics
import time
import uuid

import grpc
import numpy as np
import psycopg

from services.ingest import partitions
from services.runtime.blocks import INSERT, encode_block, hour_runs, insert_params
from services.runtime.tokens import TokenSigner
from sf.bench.databases import fresh_databases
from sf.bench.figures import Figure
from sf.bench.telemetry import reader_metadata
from sf.inprocess import InProcessStack
from sf.seeding import create_tenant
from sfcloud.v1 import common_pb2, query_pb2, query_pb2_grpc

DEADLINE_S = 60  # every call has a deadline (RELIABILITY R2); generous, a benchmark measures

YEAR = 365 * 86_400
HOUR_NS = 3_600 * 10**9
# The year up to the current hour, as a live factory's store holds it: "latest" reads recent data.
YEAR_START_NS = (time.time_ns() // HOUR_NS) * HOUR_NS - YEAR * 10**9
COLUMNS = 1_000
LATEST_SERIES = 1_000
LATEST_STEP_S = 10  # the 1,000 series hold one day each at one point per 10 s (8.6 M points in all)
RUNS = 7  # engine runs per figure; the median is reported
BASELINE_RUNS = 3  # row-table runs (seconds each on a year); the median is reported
BLOCKS_PER_INSERT = 1_000

_COPY_ROW = np.dtype(  # one row of PostgreSQL's binary COPY format: field count, then (length, bytes) each
    [("n", ">i2"), ("l1", ">i4"), ("sid", "V16"), ("l2", ">i4"), ("ts", ">i8"), ("l3", ">i4"), ("v", ">f8")]
)


def sensor(start_ns: int, seconds: int, step_s: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A temperature-like signal with 2 decimals: a daily and a slow weekly wave plus noise.

    Rounded as a real sensor reports, so tscodec compresses it as it would real data (about 1.3 bytes a
    point), and the statistics path meets real-sized blocks.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(0, seconds, step_s, dtype=np.int64)
    values = (
        60
        + 5 * np.sin(2 * np.pi * t / 86_400)
        + 2 * np.sin(2 * np.pi * t / (7 * 86_400))
        + rng.normal(0, 0.1, t.size)
    )
    return start_ns + t * 10**9, np.round(values, 2)


def write_blocks(conn: psycopg.Connection, tenant_id: uuid.UUID, series_id: uuid.UUID, ts, vs) -> int:
    """Store points as one block per UTC hour, as ingest would; the number of blocks."""
    blocks = [encode_block(series_id, ts[run], vs[run]) for run in hour_runs(ts)]
    for at in range(0, len(blocks), BLOCKS_PER_INSERT):
        conn.execute(INSERT, insert_params(tenant_id, blocks[at : at + BLOCKS_PER_INSERT]))
    return len(blocks)


def copy_rows(conn: psycopg.Connection, series_id: uuid.UUID, ts: np.ndarray, vs: np.ndarray) -> None:
    """Append points to ``bench_points`` by binary COPY, the rows built with numpy (a day per write)."""
    with conn.cursor().copy(
        "COPY public.bench_points (series_id, ts, value) FROM STDIN (FORMAT binary)"
    ) as copy:
        copy.write(b"PGCOPY\n\xff\r\n\x00" + bytes(8))  # signature, flags, header extension length
        for at in range(0, ts.size, 86_400):
            rows = np.empty(min(86_400, ts.size - at), _COPY_ROW)
            rows["n"], rows["l1"], rows["l2"], rows["l3"] = 3, 16, 8, 8
            rows["sid"] = np.void(series_id.bytes)
            rows["ts"], rows["v"] = ts[at : at + rows.size], vs[at : at + rows.size]
            copy.write(rows.tobytes())
        copy.write(b"\xff\xff")  # end of data


def load(admin_url: str, tenant_id: uuid.UUID, year_series: uuid.UUID, latest: list[uuid.UUID]) -> None:
    """The year of one series and a day of each ``latest`` series, as blocks and as rows."""
    year_end = YEAR_START_NS + YEAR * 10**9
    with psycopg.connect(admin_url, autocommit=True) as conn:
        partitions.ensure(conn, YEAR_START_NS, year_end)  # the weekly partitions a real cell would have
        conn.execute("CREATE TABLE public.bench_points (series_id uuid, ts bigint, value float8)")
        ts, vs = sensor(YEAR_START_NS, YEAR, 1, seed=1)
        with conn.transaction():
            write_blocks(conn, tenant_id, year_series, ts, vs)
            copy_rows(conn, year_series, ts, vs)
        last_day = year_end - 86_400 * 10**9
        with conn.transaction():
            for n, sid in enumerate(latest):
                ts, vs = sensor(last_day, 86_400, LATEST_STEP_S, seed=100 + n)
                write_blocks(conn, tenant_id, sid, ts, vs)
                copy_rows(conn, sid, ts, vs)
        conn.execute(  # each series' newest point, which ingest keeps with every batch (migration 0013)
            "INSERT INTO telemetry.series_latest (tenant_id, series_id, ts_ns, value)"
            " SELECT DISTINCT ON (series_id) tenant_id, series_id, end_ns, last_value FROM telemetry.blocks"
            " ORDER BY series_id, end_ns DESC"
        )
        conn.execute("ALTER TABLE public.bench_points ADD PRIMARY KEY (series_id, ts)")
        conn.execute("VACUUM ANALYZE public.bench_points")
        conn.execute("VACUUM ANALYZE telemetry.blocks")


def median_ms(work, runs: int) -> tuple[float, object]:
    """Median wall time of ``runs`` calls after one unmeasured call (caches warm, as in steady use), and
    the last answer, so the answers can be checked."""
    answer = work()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        answer = work()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, answer


async def amedian_ms(work, runs: int) -> tuple[float, object]:
    """``median_ms`` for a coroutine function."""
    answer = await work()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        answer = await work()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, answer


def baselines(admin_url: str, year_series: uuid.UUID, latest: list[uuid.UUID]) -> dict[str, tuple]:
    """Each query on the row table: (median ms, its answer) by figure name."""
    year = (YEAR_START_NS, YEAR_START_NS + YEAR * 10**9)
    hour = (YEAR_START_NS + 4_000 * HOUR_NS, YEAR_START_NS + 4_001 * HOUR_NS)
    hourly = (
        "SELECT ts / %s AS hour, avg(value) FROM public.bench_points"
        " WHERE series_id = %s AND ts >= %s AND ts < %s GROUP BY 1 ORDER BY 1"
    )
    m4 = (  # per column min/max and the first and last point (found again by primary key)
        "WITH c AS (SELECT width_bucket(ts::float8, %(lo)s, %(hi)s, %(n)s) AS k, min(ts) AS t1, max(ts) AS t2,"
        "   min(value) AS low, max(value) AS high FROM public.bench_points"
        "   WHERE series_id = %(s)s AND ts >= %(lo)s AND ts < %(hi)s GROUP BY 1)"
        " SELECT c.k, c.t1, f.value, c.t2, l.value, c.low, c.high FROM c"
        " JOIN public.bench_points f ON f.series_id = %(s)s AND f.ts = c.t1"
        " JOIN public.bench_points l ON l.series_id = %(s)s AND l.ts = c.t2 ORDER BY c.k"
    )
    newest = (
        "SELECT s.id, r.ts, r.value FROM unnest(%s::uuid[]) AS s(id) CROSS JOIN LATERAL"
        " (SELECT ts, value FROM public.bench_points WHERE series_id = s.id ORDER BY ts DESC LIMIT 1) r"
    )
    out = {}
    with psycopg.connect(admin_url) as conn:
        cases = {
            "query.year_hourly_avg_ms": (hourly, [HOUR_NS, year_series, *year], BASELINE_RUNS),
            "query.m4_year_ms": (
                m4,
                {"lo": year[0], "hi": year[1], "n": COLUMNS, "s": year_series},
                BASELINE_RUNS,
            ),
            "query.m4_hour_ms": (m4, {"lo": hour[0], "hi": hour[1], "n": COLUMNS, "s": year_series}, RUNS),
            "query.latest_1000_ms": (newest, [latest], RUNS),
        }
        for name, (sql, params, runs) in cases.items():
            out[name] = median_ms(lambda sql=sql, params=params: conn.execute(sql, params).fetchall(), runs)
    return out


async def engine(
    stack: InProcessStack, signer: TokenSigner, tenant_id, year_series, latest
) -> dict[str, tuple]:
    """The same queries through the analytics gRPC service: (median ms, its answer) by figure name."""
    metadata = reader_metadata(signer, tenant_id)
    year = common_pb2.TimeRange(start_ns=YEAR_START_NS, end_ns=YEAR_START_NS + YEAR * 10**9)
    hour = common_pb2.TimeRange(
        start_ns=YEAR_START_NS + 4_000 * HOUR_NS, end_ns=YEAR_START_NS + 4_001 * HOUR_NS
    )
    sid = str(year_series)
    async with grpc.aio.insecure_channel(stack.targets["analytics"]) as channel:
        stub = query_pb2_grpc.QueryServiceStub(channel)
        calls = {
            "query.year_hourly_avg_ms": lambda: stub.Aggregate(
                query_pb2.AggregateRequest(series_id=sid, range=year, bucket_ns=HOUR_NS, as_columns=True),
                metadata=metadata,
                timeout=DEADLINE_S,
            ),
            "query.m4_year_ms": lambda: stub.ChartSeries(
                query_pb2.ChartSeriesRequest(series_id=sid, range=year, columns=COLUMNS),
                metadata=metadata,
                timeout=DEADLINE_S,
            ),
            "query.m4_hour_ms": lambda: stub.ChartSeries(
                query_pb2.ChartSeriesRequest(series_id=sid, range=hour, columns=COLUMNS),
                metadata=metadata,
                timeout=DEADLINE_S,
            ),
            "query.latest_1000_ms": lambda: stub.LatestValues(
                query_pb2.LatestValuesRequest(series_ids=[str(s) for s in latest]),
                metadata=metadata,
                timeout=DEADLINE_S,
            ),
        }
        return {name: await amedian_ms(call, RUNS) for name, call in calls.items()}


def check(engine_answers: dict[str, tuple], baseline_answers: dict[str, tuple]) -> None:
    """Both sides answered the same question: a fast wrong answer must not make a figure."""
    hourly = engine_answers["query.year_hourly_avg_ms"][1].columns.avg
    rows = baseline_answers["query.year_hourly_avg_ms"][1]
    assert len(hourly) == len(rows) == YEAR // 3_600
    assert np.allclose(hourly, [r[1] for r in rows])
    for name in ("query.m4_year_ms", "query.m4_hour_ms"):
        columns, rows = engine_answers[name][1].columns, baseline_answers[name][1]
        assert len(columns) == len(rows) == COLUMNS, name
        assert min(c.min for c in columns) == min(r[5] for r in rows), name
        assert max(c.max for c in columns) == max(r[6] for r in rows), name
        assert columns[0].first == rows[0][2] and columns[-1].last == rows[-1][4], name
    newest = {
        (v.series_id, v.timestamp_ns, v.value) for v in engine_answers["query.latest_1000_ms"][1].values
    }
    assert newest == {(str(s), t, v) for s, t, v in baseline_answers["query.latest_1000_ms"][1]}


async def measure(admin_url: str, redis_url: str) -> dict[str, Figure]:
    key = secrets.token_urlsafe(48)
    stack = await InProcessStack(admin_url, redis_url, key).start()
    try:
        tenant = await create_tenant(
            stack.targets["tenancy"], TokenSigner(key), "Bench queries", series_count=1
        )
        year_series = uuid.UUID(tenant.series_ids[0])
        # LatestValues checks no catalog (it leaves series without points out, and row-level security keeps
        # other tenants' out), so these need not be created in tenancy; every other query names a real series.
        latest = [uuid.uuid4() for _ in range(LATEST_SERIES)]
        await asyncio.to_thread(load, admin_url, tenant.id, year_series, latest)
        measured = await engine(stack, TokenSigner(key), tenant.id, year_series, latest)
    finally:
        await stack.stop()
    baseline = baselines(admin_url, year_series, latest)
    check(measured, baseline)
    return {name: Figure(ms, "ms", baseline[name][0]) for name, (ms, _) in measured.items()}


def run() -> dict[str, Figure]:
    with fresh_databases() as (admin_url, redis_url):
        return asyncio.run(measure(admin_url, redis_url))
