"""Reading telemetry: raw points, time buckets, latest values, and live values as they arrive."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from strawberry.types import Info

from gateway.graphql.assets import LiveValue, finite
from gateway.graphql.errors import ApiError
from gateway.graphql.live import LiveRelay, SeriesFilter
from gateway.graphql.paging import After
from gateway.graphql.permissions import CanReadTenant, IsSignedIn
from gateway.graphql.resume import Replayed, stored_after
from gateway.graphql.scalars import Duration, Timestamp
from services.runtime.keys import live_channel
from sfcloud.v1 import common_pb2, query_pb2

MAX_LIVE_SERIES = 500
MAX_ALIGNED_SERIES = 100
From = Annotated[Timestamp, strawberry.argument(name="from", description="Start of the range (inclusive).")]


@strawberry.type(description="A page of raw points, as two parallel columns.")
class PointPage:
    timestamps: list[Timestamp] = strawberry.field(description="The points' times, ascending.")
    values: list[float | None] = strawberry.field(description="One per timestamp; null when not finite.")
    has_more: bool = strawberry.field(description="True when the range holds more points after this page.")
    next_from: Timestamp | None = strawberry.field(description="Pass as `from` to read the next page.")
    end_cursor: str | None = strawberry.field(
        description="Pass as `after` (with the same series, `from` and `to`) to read the next page;"
        " null on the last page. Opaque; it stays valid while blocks are compacted."
    )

    @classmethod
    def from_pb(cls, page: query_pb2.ReadPointsResponse) -> PointPage:
        """From a page of points (of ReadPoints, or of ReadSharedPoints, which has the same fields)."""
        timestamps = list(page.timestamps_ns)
        return cls(
            timestamps=timestamps,
            values=[finite(v) for v in page.values],
            has_more=page.has_more,
            next_from=timestamps[-1] + 1 if page.has_more and timestamps else None,
            end_cursor=page.next_page_token or None,
        )


@strawberry.type(description="Statistics of one time bucket; buckets without points are left out.")
class Bucket:
    start: Timestamp = strawberry.field(description="The bucket's start (the first may lie before `from`).")
    count: int = strawberry.field(description="Points in the bucket (NaN points count nowhere).")
    min: float | None = strawberry.field(description="The smallest value; null when not finite.")
    max: float | None = strawberry.field(description="The largest value; null when not finite.")
    sum: float | None = strawberry.field(description="The sum of the values; null when not finite.")
    avg: float | None = strawberry.field(description="The mean value; null when not finite.")
    first_at: Timestamp = strawberry.field(description="Time of the bucket's earliest point.")
    first: float | None = strawberry.field(description="The earliest point's value; null when not finite.")
    last_at: Timestamp = strawberry.field(description="Time of the bucket's latest point.")
    last: float | None = strawberry.field(description="The latest point's value; null when not finite.")

    @classmethod
    def from_pb(cls, b: query_pb2.Bucket) -> Bucket:
        return cls(
            start=b.start_ns,
            count=b.count,
            min=finite(b.min),
            max=finite(b.max),
            sum=finite(b.sum),
            avg=finite(b.avg),
            first_at=b.first_ts,
            first=finite(b.first),
            last_at=b.last_ts,
            last=finite(b.last),
        )


@strawberry.enum(
    description="Calendar buckets, starting at local midnight in the time zone (a week on Monday)."
)
class Calendar(enum.Enum):
    DAY = query_pb2.CALENDAR_BUCKET_DAY
    WEEK = query_pb2.CALENDAR_BUCKET_WEEK


@strawberry.type(description="One pixel column of a chart (M4): its first, last, smallest and largest point.")
class ChartColumn:
    start: Timestamp = strawberry.field(description="The column's start.")
    first_at: Timestamp = strawberry.field(description="Time of the column's first point.")
    first: float | None = strawberry.field(description="The first point's value; null when not finite.")
    last_at: Timestamp = strawberry.field(description="Time of the column's last point.")
    last: float | None = strawberry.field(description="The last point's value; null when not finite.")
    min_at: Timestamp | None = strawberry.field(
        description="Null when block statistics supplied the minimum."
    )
    min: float | None = strawberry.field(description="The smallest value; null when not finite.")
    max_at: Timestamp | None = strawberry.field(
        description="Null when block statistics supplied the maximum."
    )
    max: float | None = strawberry.field(description="The largest value; null when not finite.")

    @classmethod
    def from_pb(cls, c: query_pb2.ChartColumn) -> ChartColumn:
        return cls(
            start=c.start_ns,
            first_at=c.first_ts,
            first=finite(c.first),
            last_at=c.last_ts,
            last=finite(c.last),
            min_at=c.min_ts if c.HasField("min_ts") else None,
            min=finite(c.min),
            max_at=c.max_ts if c.HasField("max_ts") else None,
            max=finite(c.max),
        )


@strawberry.type(
    description="A chart (M4) as the line it draws: each pixel column's first, smallest, largest and last point in"
    " time order, as two parallel lists. A smallest or largest value that block statistics supplied has no time"
    " of its own: it is placed midway through its column's points."
)
class ChartLine:
    times_ms: list[float] = strawberry.field(description="The points' times, milliseconds since 1970 (UTC).")
    values: list[float | None] = strawberry.field(description="One per time; null when not finite.")

    @classmethod
    def from_pb(cls, columns) -> ChartLine:
        times, values = [], []
        for c in columns:
            middle = (c.first_ts + c.last_ts) / 2
            points = sorted(
                [
                    (c.first_ts, c.first),
                    (c.min_ts if c.HasField("min_ts") else middle, c.min),
                    (c.max_ts if c.HasField("max_ts") else middle, c.max),
                    (c.last_ts, c.last),
                ],
                key=lambda p: p[0],
            )
            for i, (t, v) in enumerate(points):
                if i == 0 or (t, v) != points[i - 1]:
                    times.append(t / 1e6)
                    values.append(finite(v))
        return cls(times_ms=times, values=values)


@strawberry.enum(description="What an aligned aggregate reports of each bucket.")
class AggregateFunction(enum.Enum):
    COUNT = query_pb2.AGGREGATE_FUNCTION_COUNT
    MIN = query_pb2.AGGREGATE_FUNCTION_MIN
    MAX = query_pb2.AGGREGATE_FUNCTION_MAX
    SUM = query_pb2.AGGREGATE_FUNCTION_SUM
    AVG = query_pb2.AGGREGATE_FUNCTION_AVG
    FIRST = query_pb2.AGGREGATE_FUNCTION_FIRST
    LAST = query_pb2.AGGREGATE_FUNCTION_LAST


@strawberry.type(description="One series' values on the shared time axis of an aligned aggregate.")
class AlignedColumn:
    series_id: strawberry.ID = strawberry.field(description="The series.")
    values: list[float | None] = strawberry.field(
        description="One per bucket of `starts`; null where the series has no points in the bucket (or the"
        " value is not finite)."
    )


@strawberry.type(
    description="Several series aggregated over the same buckets: one time axis, a column per series."
)
class AlignedAggregate:
    starts: list[Timestamp] = strawberry.field(
        description="Starts of the buckets in which at least one of the series has points, ascending."
    )
    columns: list[AlignedColumn] = strawberry.field(description="One per asked series, in the order asked.")

    @classmethod
    def from_pb(cls, response: query_pb2.AlignedAggregateResponse) -> AlignedAggregate:
        columns = [
            AlignedColumn(
                series_id=strawberry.ID(c.series_id),
                values=[finite(v) if p else None for v, p in zip(c.values, c.present, strict=True)],
            )
            for c in response.columns
        ]
        return cls(starts=list(response.starts_ns), columns=columns)


async def _chart_columns(info: Info, series_id: strawberry.ID, from_: int, to: int, columns: int) -> list:
    """The M4 columns of the series from analytics, after the series and the column count are checked."""
    ctx = info.context
    await ctx.tenant_loaders().require_series(str(series_id))
    if not 1 <= columns <= 10_000:
        raise ApiError("columns must be between 1 and 10,000", "BAD_USER_INPUT")
    request = query_pb2.ChartSeriesRequest(series_id=str(series_id), range=_range(from_, to), columns=columns)
    return list((await ctx.backends.call(ctx.backends.query.ChartSeries, request, ctx.principal)).columns)


def _range(start: int, end: int) -> common_pb2.TimeRange:
    return common_pb2.TimeRange(start_ns=start, end_ns=end)


def _buckets(bucket: int | None, calendar: Calendar | None, time_zone: str) -> dict:
    """The bucket fields of an aggregate request."""
    return {
        "bucket_ns": bucket or 0,
        "calendar": calendar.value if calendar else query_pb2.CALENDAR_BUCKET_UNSPECIFIED,
        "time_zone": time_zone,
    }


@strawberry.type
class TelemetryQuery:
    @strawberry.field(
        permission_classes=[IsSignedIn, CanReadTenant],
        description="Raw points of a series in [from, to), `first` (1 to 100,000) at a time: pass a page's"
        " `endCursor` as `after` for the next. The range spans at most your plan's raw window (docs/API.md, Limits).",
    )
    async def points(
        self,
        info: Info,
        series_id: strawberry.ID,
        from_: From,
        to: Timestamp,
        first: int = 10_000,
        after: After = None,
    ) -> PointPage:
        ctx = info.context
        await ctx.tenant_loaders().require_series(str(series_id))
        request = query_pb2.ReadPointsRequest(
            series_id=str(series_id), range=_range(from_, to), limit=first, page_token=after or ""
        )
        return PointPage.from_pb(
            await ctx.backends.call(ctx.backends.query.ReadPoints, request, ctx.principal)
        )

    @strawberry.field(
        permission_classes=[IsSignedIn, CanReadTenant],
        description="Count, min, max, sum, avg, first, last per bucket: fixed `bucket` widths since the epoch,"
        " or `calendar` days or weeks in `timeZone` (an IANA name).",
    )
    async def aggregate(
        self,
        info: Info,
        series_id: strawberry.ID,
        from_: From,
        to: Timestamp,
        bucket: Duration | None = None,
        calendar: Calendar | None = None,
        time_zone: str = "UTC",
    ) -> list[Bucket]:
        ctx = info.context
        await ctx.tenant_loaders().require_series(str(series_id))
        request = query_pb2.AggregateRequest(
            series_id=str(series_id), range=_range(from_, to), **_buckets(bucket, calendar, time_zone)
        )
        response = await ctx.backends.call(ctx.backends.query.Aggregate, request, ctx.principal)
        return [Bucket.from_pb(b) for b in response.buckets]

    @strawberry.field(
        permission_classes=[IsSignedIn, CanReadTenant],
        description="One function (e.g. AVG) of several series (1 to 100) per bucket, on one time axis: fixed"
        " `bucket` widths since the epoch, or `calendar` days or weeks in `timeZone`.",
    )
    async def aligned_aggregate(
        self,
        info: Info,
        series_ids: list[strawberry.ID],
        from_: From,
        to: Timestamp,
        function: AggregateFunction,
        bucket: Duration | None = None,
        calendar: Calendar | None = None,
        time_zone: str = "UTC",
    ) -> AlignedAggregate:
        ctx = info.context
        if not 0 < len(series_ids) <= MAX_ALIGNED_SERIES:
            raise ApiError(f"seriesIds must hold 1 to {MAX_ALIGNED_SERIES} ids", "BAD_USER_INPUT")
        loaders = ctx.tenant_loaders()
        await asyncio.gather(*(loaders.require_series(str(s)) for s in series_ids))  # one ListSeries call
        request = query_pb2.AlignedAggregateRequest(
            series_ids=[str(s) for s in series_ids],
            range=_range(from_, to),
            function=function.value,
            **_buckets(bucket, calendar, time_zone),
        )
        response = await ctx.backends.call(ctx.backends.query.AlignedAggregate, request, ctx.principal)
        return AlignedAggregate.from_pb(response)

    @strawberry.field(
        permission_classes=[IsSignedIn, CanReadTenant],
        description="A chart series (M4): first, last, min and max point of each of `columns` pixel columns.",
    )
    async def chart(
        self, info: Info, series_id: strawberry.ID, from_: From, to: Timestamp, columns: int
    ) -> list[ChartColumn]:
        return [ChartColumn.from_pb(c) for c in await _chart_columns(info, series_id, from_, to, columns)]

    @strawberry.field(
        permission_classes=[IsSignedIn, CanReadTenant],
        description="The same chart as `chart`, as the line a chart library draws: two lists instead of an"
        " object per column, so a page of charts costs the server a fraction of the work.",
    )
    async def chart_line(
        self, info: Info, series_id: strawberry.ID, from_: From, to: Timestamp, columns: int
    ) -> ChartLine:
        return ChartLine.from_pb(await _chart_columns(info, series_id, from_, to, columns))

    @strawberry.field(
        permission_classes=[IsSignedIn, CanReadTenant], description="The newest value of each series."
    )
    async def latest(self, info: Info, series_ids: list[strawberry.ID]) -> list[LiveValue]:
        values = await info.context.tenant_loaders().latest.load_many([str(s) for s in series_ids])
        return [LiveValue.from_pb(v) for v in values if v is not None]


@strawberry.type
class TelemetrySubscription:
    @strawberry.subscription(
        permission_classes=[IsSignedIn, CanReadTenant],
        description="Values of the series as stored. With `after` (the newest timestamp you received, to resume"
        " a dropped subscription), first every value stored after it, then live values, none twice.",
    )
    async def live_values(
        self, info: Info, series_ids: list[strawberry.ID], after: Timestamp | None = None
    ) -> AsyncGenerator[LiveValue, None]:
        ctx = info.context
        if not 0 < len(series_ids) <= MAX_LIVE_SERIES:
            raise ApiError(f"seriesIds must hold 1 to {MAX_LIVE_SERIES} ids", "BAD_USER_INPUT")
        loaders = ctx.tenant_loaders()
        wanted = {str((await loaders.require_series(str(s))).id) for s in series_ids}
        waiting = LiveRelay()
        async with ctx.hub.listening(
            live_channel(ctx.principal.require_tenant()), SeriesFilter(wanted, waiting)
        ):
            stored = [] if after is None else await stored_after(ctx, sorted(wanted), after)
            for value in stored:  # listening already: what is committed from now on comes live
                yield value
            replayed, skipped = Replayed(stored), 0
            while True:
                point, missed = await waiting.take()
                if replayed.already_sent(point):
                    skipped += missed
                    continue
                yield LiveValue(
                    series_id=strawberry.ID(point["s"]),
                    timestamp=point["t"],
                    value=point["v"],
                    missed=missed + skipped,
                )
                skipped = 0
