"""``analytics.worker_score_points_per_s``: the worker's anomaly scoring on the real stack, in sensor values
per second. One pass of ``AnomalyWatch`` over a machine's hour of eight series at 1 Hz (28,800 values):
the points read out of their stored blocks, put on the model's 1 s grid, scored by the resumed scorer and
the state written back, in one tenant transaction. The baseline is the same rows scored in memory by the
scorer alone (what the detector costs without storage): the ratio shows what reading and writing add.
Best of ``REPEATS`` (each after a refit, which puts scoring back to the reference period's end).
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import time
import uuid

import grpc
import numpy as np

from services.analytics.anomaly import Scorer, fit
from services.analytics.anomaly.grid import grid_rows
from services.runtime.principal import Kind, Principal, Role
from services.runtime.tokens import METADATA_KEY, TokenSigner
from services.worker.alarm_reporter import AlarmReporter
from services.worker.anomaly_watch import LAG_NS, AnomalyWatch
from services.worker.server import WorkerServer
from sf.bench.databases import fresh_databases
from sf.bench.figures import Figure
from sf.bench.queries import sensor
from sf.inprocess import InProcessStack
from sf.seeding import create_tenant, send_batches
from sfcloud.v1 import anomaly_pb2, anomaly_pb2_grpc, common_pb2, ingest_pb2

SERIES = 8
HOUR_S = 3600
S = 10**9
REPEATS = 3


def machine_hours(start_ns: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Two hours at 1 Hz of eight sensors: the first is the reference, the second is scored."""
    return [sensor(start_ns, 2 * HOUR_S, 1, seed) for seed in range(SERIES)]


async def measure(admin_url: str, redis_url: str) -> dict[str, Figure]:
    key = secrets.token_urlsafe(48)
    stack = await InProcessStack(admin_url, redis_url, key).start()
    worker = WorkerServer(dataclasses.replace(stack.worker_settings("bench-scoring"), anomaly_interval_s=0))
    await worker.start()
    try:
        signer = TokenSigner(key)
        tenant = await create_tenant(stack.targets["tenancy"], signer, "Bench scoring", series_count=SERIES)
        start = (time.time_ns() - 3 * HOUR_S * S) // (HOUR_S * S) * HOUR_S * S
        data = machine_hours(start)
        await send_batches(stack.targets["ingest"], tenant.credential, _batches(tenant.series_ids, data))
        reporter = AlarmReporter(worker.redis, worker.alarm_client, worker.notifier)
        watch = AnomalyWatch(worker.redis, worker.cells, worker.directory, reporter, 1, "bench-scoring")
        owner = Principal(Kind.USER, str(uuid.uuid4()), tenant_id=tenant.id, role=Role.OWNER)
        reference = common_pb2.TimeRange(start_ns=start, end_ns=start + HOUR_S * S)
        train = anomaly_pb2.TrainModelRequest(machine_id=tenant.machine_id, reference=reference, step_ns=S)
        async with grpc.aio.insecure_channel(stack.targets["analytics"]) as channel:
            api = anomaly_pb2_grpc.AnomalyServiceStub(channel)
            best = float("inf")
            for _ in range(REPEATS):
                await api.TrainModel(train, metadata=((METADATA_KEY, signer.sign(owner)),), timeout=60)
                began = time.perf_counter()
                await watch.score_tenant(tenant.id, "default", start + 2 * HOUR_S * S + LAG_NS)
                best = min(best, time.perf_counter() - began)
    finally:
        await worker.stop()
        await stack.stop()
    points = SERIES * HOUR_S
    return {
        "analytics.worker_score_points_per_s": Figure(
            points / best, "points/s", _in_memory(data, start), True
        )
    }


def _batches(series_ids: list[str], data) -> list[ingest_pb2.IngestRequest]:
    return [
        ingest_pb2.IngestRequest(
            batch_no=n + 1,
            series=[
                ingest_pb2.SeriesPoints(
                    series_id=sid, timestamps_ns=ts[lo : lo + 900].tolist(), values=vs[lo : lo + 900].tolist()
                )
                for sid, (ts, vs) in zip(series_ids, data, strict=True)
            ],
        )
        for n, lo in enumerate(range(0, 2 * HOUR_S, 900))
    ]


def _in_memory(data, start: int) -> float:
    """The scored hour's rows through the scorer alone, best of ``REPEATS``, in values per second."""
    nan = np.full(SERIES, np.nan)
    reference = grid_rows(data, S, start, start + HOUR_S * S, nan)
    scored = grid_rows(data, S, start + HOUR_S * S, start + 2 * HOUR_S * S, reference.carry)
    model = fit(reference.values, tuple(str(j) for j in range(SERIES)))
    best = float("inf")
    for _ in range(REPEATS):
        began = time.perf_counter()
        Scorer(model).update(scored.values)
        best = min(best, time.perf_counter() - began)
    return scored.values.size / best


def run() -> dict[str, Figure]:
    with fresh_databases() as (admin_url, redis_url):
        return asyncio.run(measure(admin_url, redis_url))
