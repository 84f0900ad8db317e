"""Writing blocks straight into telemetry.blocks (as the admin) and asking the query service about them."""

from __future__ import annotations

import dataclasses
import itertools
import secrets
import uuid

import grpc
import numpy as np
import pytest

from services.runtime import rollups
from services.runtime.blocks import INSERT, Block, encode_block, hour_runs, insert_params
from sfcloud.v1 import common_pb2, query_pb2, query_pb2_grpc, tenancy_pb2, tenancy_pb2_grpc
from tests.e2e.test_bad_input import reason_of
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


class SeriesMaker:
    """New series of one tenant, created through tenancy as its owner: analytics answers only for those."""

    def __init__(self, channel: grpc.aio.Channel, signer, tenant) -> None:
        self.stub = tenancy_pb2_grpc.TenancyServiceStub(channel)
        self.metadata = _as(signer, tenant.id)
        self.machine_id = tenant.machine_id

    async def new(self) -> uuid.UUID:
        request = tenancy_pb2.CreateSeriesRequest(
            machine_id=self.machine_id, name=f"s_{secrets.token_hex(6)}", unit="", kind="gauge"
        )
        return uuid.UUID(
            (await self.stub.CreateSeries(request, metadata=self.metadata, timeout=10)).series.id
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

    async def read(
        self, series_id, lo: int, hi: int, limit: int = 0, token: str = ""
    ) -> query_pb2.ReadPointsResponse:
        request = query_pb2.ReadPointsRequest(
            series_id=str(series_id),
            range=common_pb2.TimeRange(start_ns=lo, end_ns=hi),
            limit=limit,
            page_token=token,
        )
        return await self.stub.ReadPoints(request, metadata=self.metadata, timeout=20)

    def stream(self, series_id, lo: int, hi: int, page_size: int = 0, token: str = "", **options):
        """The StreamPoints call (iterate it for the pages)."""
        request = query_pb2.StreamPointsRequest(
            series_id=str(series_id),
            range=common_pb2.TimeRange(start_ns=lo, end_ns=hi),
            page_size=page_size,
            page_token=token,
        )
        return self.stub.StreamPoints(request, metadata=self.metadata, timeout=120, **options)

    async def aligned(self, series_ids, lo: int, hi: int, **fields) -> query_pb2.AlignedAggregateResponse:
        request = query_pb2.AlignedAggregateRequest(
            series_ids=[str(s) for s in series_ids],
            range=common_pb2.TimeRange(start_ns=lo, end_ns=hi),
            **fields,
        )
        return await self.stub.AlignedAggregate(request, metadata=self.metadata, timeout=20)

    async def chart(self, series_id, lo: int, hi: int, columns: int) -> list[query_pb2.ChartColumn]:
        request = query_pb2.ChartSeriesRequest(
            series_id=str(series_id), range=common_pb2.TimeRange(start_ns=lo, end_ns=hi), columns=columns
        )
        return list((await self.stub.ChartSeries(request, metadata=self.metadata, timeout=20)).columns)


async def drain(call) -> list:
    """Every message of a server stream."""
    return [message async for message in call]


async def assert_refused(cases, code: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT) -> None:
    """Each (call, words in the message, reason or None) fails with ``code``."""
    for call, words, reason in cases:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call
        assert caught.value.code() == code, words
        assert words in caught.value.details()
        if reason:
            assert reason_of(caught.value) == reason
