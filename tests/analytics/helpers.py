"""Writing blocks straight into telemetry.blocks (as the admin) and asking the query service about them."""

from __future__ import annotations

import dataclasses
import itertools
import uuid

import grpc
import numpy as np

from services.runtime import rollups
from services.runtime.blocks import INSERT, Block, encode_block, hour_runs, insert_params
from sfcloud.v1 import common_pb2, query_pb2, query_pb2_grpc
from tests.isolation.test_rls import _as


def split_blocks(timestamps: np.ndarray, cuts: set[int]) -> list[slice]:
    """Hour runs of sorted ``timestamps``, each cut again before every index in ``cuts``."""
    pieces = []
    for run in hour_runs(timestamps):
        bounds = [run.start, *sorted(c for c in cuts if run.start < c < run.stop), run.stop]
        pieces += [slice(a, b) for a, b in itertools.pairwise(bounds)]
    return pieces


def write_blocks(admin_conn, tenant_id: uuid.UUID, series_id: uuid.UUID, timestamps, values, pieces) -> None:
    for piece in pieces:
        write_row(admin_conn, tenant_id, encode_block(series_id, timestamps[piece], values[piece]))


def write_row(admin_conn, tenant_id: uuid.UUID, block: Block, **overrides) -> None:
    """One block row, its columns optionally overridden (a lying statistic, an unknown NaN count)."""
    admin_conn.execute(INSERT, insert_params(tenant_id, [dataclasses.replace(block, **overrides)]))


def write_rollups(admin_conn, tenant_id: uuid.UUID, series_id: uuid.UUID, timestamps, values, width_ns: int):
    """The rollups of ``width_ns`` of every hour the points touch, made as the worker makes them."""
    hours = np.unique(timestamps - timestamps % rollups.HOUR_NS)
    for hour in hours.tolist():
        inside = (timestamps >= hour) & (timestamps < hour + rollups.HOUR_NS)
        write_rollup(
            admin_conn,
            tenant_id,
            series_id,
            rollups.summarise(hour, width_ns, timestamps[inside], values[inside]),
        )


def write_rollup(admin_conn, tenant_id: uuid.UUID, series_id: uuid.UUID, rollup: rollups.Rollup) -> None:
    admin_conn.execute(
        "INSERT INTO telemetry.rollups (tenant_id, series_id, width_ns, hour_ns, stats) VALUES (%s, %s, %s, %s, %s)",
        [tenant_id, series_id, rollup.width_ns, rollup.hour_ns, rollup.stats],
    )


class Query:
    """The query service as the owner of one tenant."""

    def __init__(self, channel: grpc.aio.Channel, signer, tenant_id: uuid.UUID) -> None:
        self.stub = query_pb2_grpc.QueryServiceStub(channel)
        self.metadata = _as(signer, tenant_id)

    async def aggregate(self, series_id, lo: int, hi: int, **fields) -> list[query_pb2.Bucket]:
        request = query_pb2.AggregateRequest(
            series_id=str(series_id), range=common_pb2.TimeRange(start_ns=lo, end_ns=hi), **fields
        )
        return list((await self.stub.Aggregate(request, metadata=self.metadata, timeout=20)).buckets)

    async def chart(self, series_id, lo: int, hi: int, columns: int) -> list[query_pb2.ChartColumn]:
        request = query_pb2.ChartSeriesRequest(
            series_id=str(series_id), range=common_pb2.TimeRange(start_ns=lo, end_ns=hi), columns=columns
        )
        return list((await self.stub.ChartSeries(request, metadata=self.metadata, timeout=20)).columns)
