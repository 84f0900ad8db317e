"""Writing blocks straight into telemetry.blocks (as the admin) and asking the query service about them."""

from __future__ import annotations

import itertools
import secrets
import uuid

import grpc
import numpy as np
import pytest

from services.runtime.blocks import encode_block, hour_runs
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


def write_row(admin_conn, tenant_id: uuid.UUID, block, **overrides) -> None:
    row = {
        "tenant_id": tenant_id,
        "series_id": block.series_id,
        "start_ns": block.start_ns,
        "end_ns": block.end_ns,
        "count": block.count,
        "min_value": block.min_value,
        "max_value": block.max_value,
        "sum_value": block.sum_value,
        "first_value": block.first_value,
        "last_value": block.last_value,
        "payload": block.payload,
    } | overrides
    admin_conn.execute(
        f"INSERT INTO telemetry.blocks ({', '.join(row)}) VALUES ({', '.join(['%s'] * len(row))})",
        list(row.values()),
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
