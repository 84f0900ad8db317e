"""gRPC ⇄ domain translation for QueryService; a caller's raw reads are first held to its plan's window
(``windows.py``), as heavy calls take the tenant's turn."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, aclosing, nullcontext

import numpy as np

from services.analytics import wire
from services.analytics.offload import off_loop
from services.analytics.queries import UNKNOWN_TS, Buckets
from services.analytics.service import QueryService
from services.analytics.tenant_limits import TenantTurns
from services.analytics.windows import RawWindow
from services.runtime.principal import current_principal
from sfcloud.v1 import query_pb2 as pb
from sfcloud.v1 import query_pb2_grpc

INLINE_ROWS = 1_000  # answers of more buckets are written in a worker thread (its hand-over costs ~0.1 ms)
BUCKETS = pb.AggregateResponse.DESCRIPTOR.fields_by_name["buckets"]
BUCKET_COLUMNS = pb.AggregateResponse.DESCRIPTOR.fields_by_name["columns"]
CHART_COLUMNS = pb.ChartSeriesResponse.DESCRIPTOR.fields_by_name["columns"]

CALENDARS = {pb.CALENDAR_BUCKET_DAY: "day", pb.CALENDAR_BUCKET_WEEK: "week"}
FUNCTIONS = {
    pb.AGGREGATE_FUNCTION_COUNT: "count",
    pb.AGGREGATE_FUNCTION_MIN: "min",
    pb.AGGREGATE_FUNCTION_MAX: "max",
    pb.AGGREGATE_FUNCTION_SUM: "sum",
    pb.AGGREGATE_FUNCTION_AVG: "avg",
    pb.AGGREGATE_FUNCTION_FIRST: "first",
    pb.AGGREGATE_FUNCTION_LAST: "last",
}


def heavy(handler: Callable) -> Callable:
    """The handler runs within its caller's tenant's turn (``QueryHandlers._whole_call``): for calls of one
    transaction whose answer may be thousands of messages. Not AlignedAggregate: its series are read
    several at once, and each must take a turn of its own to stay within the tenant's limit."""

    @functools.wraps(handler)
    async def within_turn(self: QueryHandlers, request, context):
        async with self._whole_call():
            return await handler(self, request, context)

    return within_turn


class QueryHandlers(query_pb2_grpc.QueryServiceServicer):
    def __init__(self, service: QueryService, turns: TenantTurns, window: RawWindow) -> None:
        self._service = service
        self._turns = turns
        self._window = window

    def _whole_call(self) -> AbstractAsyncContextManager[None]:
        """The caller's tenant's turn for all of a heavy call: reading, decoding and building the answer."""
        tenant_id = current_principal().tenant_id
        return self._turns.turn(tenant_id) if tenant_id else nullcontext()

    async def ReadPoints(self, request: pb.ReadPointsRequest, context) -> pb.ReadPointsResponse:
        await self._window.check(current_principal(), request.range.start_ns, request.range.end_ns)
        page = await self._service.read_points(
            current_principal(),
            request.series_id,
            request.range.start_ns,
            request.range.end_ns,
            request.limit,
            request.page_token,
        )
        return pb.ReadPointsResponse(
            timestamps_ns=page.timestamps.tolist(),
            values=page.values.tolist(),
            has_more=page.has_more,
            next_page_token=page.next_token,
        )

    async def StreamPoints(
        self, request: pb.StreamPointsRequest, context
    ) -> AsyncIterator[pb.StreamPointsResponse]:
        await self._window.check(current_principal(), request.range.start_ns, request.range.end_ns)
        pages = self._service.stream_points(
            current_principal(),
            request.series_id,
            request.range.start_ns,
            request.range.end_ns,
            request.page_size,
            request.page_token,
        )
        async with aclosing(pages):  # a cancelled call ends the read at once
            async for page in pages:
                yield pb.StreamPointsResponse(
                    timestamps_ns=page.timestamps.tolist(),
                    values=page.values.tolist(),
                    next_page_token=page.next_token,
                )

    @heavy
    async def Aggregate(self, request: pb.AggregateRequest, context) -> bytes:
        b = await self._service.aggregate(
            current_principal(),
            request.series_id,
            request.range.start_ns,
            request.range.end_ns,
            request.bucket_ns,
            calendar=CALENDARS.get(request.calendar),
            zone_name=request.time_zone,
            with_stddev=request.with_stddev,
        )
        return await written(aggregate_answer, b, request.as_columns)  # AggregateResponse's wire bytes

    @heavy
    async def ChartSeries(self, request: pb.ChartSeriesRequest, context) -> bytes:
        b = await self._service.chart_series(
            current_principal(),
            request.series_id,
            request.range.start_ns,
            request.range.end_ns,
            request.columns,
        )
        return await written(chart_answer, b)  # ChartSeriesResponse's wire bytes

    async def AlignedAggregate(
        self, request: pb.AlignedAggregateRequest, context
    ) -> pb.AlignedAggregateResponse:
        result = await self._service.aligned_aggregate(
            current_principal(),
            list(request.series_ids),
            request.range.start_ns,
            request.range.end_ns,
            request.bucket_ns,
            FUNCTIONS.get(request.function),
            calendar=CALENDARS.get(request.calendar),
            zone_name=request.time_zone,
        )
        return pb.AlignedAggregateResponse(
            starts_ns=result.starts.tolist(),
            columns=[
                pb.AlignedColumn(series_id=series_id, values=values.tolist(), present=present.tolist())
                for series_id, values, present in zip(
                    request.series_ids, result.values, result.present, strict=True
                )
            ],
        )

    async def LatestValues(self, request: pb.LatestValuesRequest, context) -> pb.LatestValuesResponse:
        latest = await self._service.latest(current_principal(), list(request.series_ids))
        return pb.LatestValuesResponse(
            values=[pb.LatestValue(series_id=str(s), timestamp_ns=t, value=v) for s, t, v in latest]
        )

    async def DeviceUsage(self, request: pb.DeviceUsageRequest, context) -> pb.DeviceUsageResponse:
        rows = await self._service.device_usage(current_principal(), request.first_day, request.last_day)
        return pb.DeviceUsageResponse(
            days=[
                pb.DeviceDay(device_id=str(d), day=day.isoformat(), points=points, bytes=size)
                for d, day, points, size in rows
            ]
        )

    async def DeviceActivity(self, request: pb.DeviceActivityRequest, context) -> pb.DeviceActivityResponse:
        rows = await self._service.device_activity(current_principal())
        return pb.DeviceActivityResponse(
            devices=[
                pb.DeviceActivity(
                    device_id=str(d),
                    last_batch_ns=_ns(b),
                    last_point_ns=p or 0,
                    late_points=late,
                    refused_batches=refused,
                    last_refusal_ns=_ns(r),
                    last_refusal_reason=reason or "",
                    last_refusal_message=message or "",
                    stored_batches=batches,
                    points=points,
                    conflicts=conflicts,
                )
                for d, b, p, late, refused, r, reason, message, batches, points, conflicts in rows
            ]
        )

    async def GetRetentionNotice(self, request, context) -> pb.GetRetentionNoticeResponse:
        found = await self._service.retention_notice(current_principal())
        if found is None:
            return pb.GetRetentionNoticeResponse()
        before, oldest, days, plan, notice_ns, effective_ns, notified_at = found
        return pb.GetRetentionNoticeResponse(
            notice=pb.RetentionNotice(
                deletes_before_ns=before,
                oldest_end_ns=oldest,
                retention_days=days,
                plan_code=plan,
                notice_ns=notice_ns,
                effective_ns=effective_ns,
                notified_ns=_ns(notified_at),
            )
        )


def _ns(moment) -> int:
    return int(moment.timestamp() * 1e9) if moment else 0


def statistics(b: Buckets) -> dict[str, np.ndarray]:
    """The buckets' columns by the names ``Bucket`` and ``BucketColumns`` give them."""
    columns = {
        "start_ns": b.starts, "count": b.counts, "min": b.mins, "max": b.maxs, "sum": b.sums, "avg": b.avgs,
        "first_ts": b.first_ts, "first": b.firsts, "last_ts": b.last_ts, "last": b.lasts,
    }  # fmt: skip
    if b.stddevs is not None:
        columns["stddev"] = b.stddevs
    return columns


def aggregate_answer(b: Buckets, as_columns: bool) -> bytes:
    """A ``Bucket`` per bucket, or with ``as_columns`` each statistic as one packed array."""
    columns = statistics(b)
    if not as_columns:
        return wire.repeated(BUCKETS, columns)
    fields = pb.BucketColumns.DESCRIPTOR.fields_by_name
    arrays = (
        wire.packed(fields[name], columns[name]) for name in sorted(columns, key=lambda n: fields[n].number)
    )
    return wire.embedded(BUCKET_COLUMNS, b"".join(arrays))


def chart_answer(b: Buckets) -> bytes:
    """A ``ChartColumn`` per pixel column; its ``min_ts``/``max_ts`` only where known."""
    columns = {
        "start_ns": b.starts, "first_ts": b.first_ts, "first": b.firsts, "last_ts": b.last_ts, "last": b.lasts,
        "min_ts": b.min_ts, "min": b.mins, "max_ts": b.max_ts, "max": b.maxs,
    }  # fmt: skip
    return wire.repeated(
        CHART_COLUMNS, columns, {"min_ts": b.min_ts != UNKNOWN_TS, "max_ts": b.max_ts != UNKNOWN_TS}
    )


async def written(write: Callable[..., bytes], b: Buckets, *args: object) -> bytes:
    """``write(b, *args)``, in a worker thread for answers of more than ``INLINE_ROWS`` buckets: numpy
    releases the GIL there, so other tenants' calls go on meanwhile (RELIABILITY I7)."""
    if b.starts.size <= INLINE_ROWS:
        return write(b, *args)
    return await off_loop(write, b, *args)
