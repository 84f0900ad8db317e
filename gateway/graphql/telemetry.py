"""Reading telemetry: raw points, time buckets, latest values, and live values as they arrive."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from strawberry.types import Info

from gateway.graphql.assets import LiveValue, finite
from gateway.graphql.errors import ApiError
from gateway.graphql.permissions import CanReadTenant, IsSignedIn
from gateway.graphql.scalars import Duration, Timestamp
from services.runtime.keys import live_channel
from sfcloud.v1 import common_pb2, query_pb2

MAX_LIVE_SERIES = 500
From = Annotated[Timestamp, strawberry.argument(name="from", description="Start of the range (inclusive).")]


@strawberry.type(description="A page of raw points, as two parallel columns.")
class PointPage:
    timestamps: list[Timestamp]
    values: list[float | None] = strawberry.field(description="One per timestamp; null when not finite.")
    has_more: bool = strawberry.field(description="True when the range holds more points after this page.")
    next_from: Timestamp | None = strawberry.field(description="Pass as `from` to read the next page.")


@strawberry.type(description="Statistics of one time bucket; buckets without points are left out.")
class Bucket:
    start: Timestamp
    count: int
    min: float | None
    max: float | None
    sum: float | None
    avg: float | None


def _range(start: int, end: int) -> common_pb2.TimeRange:
    return common_pb2.TimeRange(start_ns=start, end_ns=end)


@strawberry.type
class TelemetryQuery:
    @strawberry.field(
        permission_classes=[IsSignedIn, CanReadTenant], description="Raw points of a series in [from, to)."
    )
    async def points(
        self, info: Info, series_id: strawberry.ID, from_: From, to: Timestamp, first: int = 10_000
    ) -> PointPage:
        ctx = info.context
        await ctx.tenant_loaders().require_series(str(series_id))
        request = query_pb2.ReadPointsRequest(series_id=str(series_id), range=_range(from_, to), limit=first)
        page = await ctx.backends.call(ctx.backends.query.ReadPoints, request, ctx.principal)
        timestamps = list(page.timestamps_ns)
        return PointPage(
            timestamps=timestamps,
            values=[finite(v) for v in page.values],
            has_more=page.has_more,
            next_from=timestamps[-1] + 1 if page.has_more and timestamps else None,
        )

    @strawberry.field(
        permission_classes=[IsSignedIn, CanReadTenant], description="Count, min, max, sum, avg per bucket."
    )
    async def aggregate(
        self, info: Info, series_id: strawberry.ID, from_: From, to: Timestamp, bucket: Duration
    ) -> list[Bucket]:
        ctx = info.context
        await ctx.tenant_loaders().require_series(str(series_id))
        request = query_pb2.AggregateRequest(
            series_id=str(series_id), range=_range(from_, to), bucket_ns=bucket
        )
        response = await ctx.backends.call(ctx.backends.query.Aggregate, request, ctx.principal)
        return [
            Bucket(
                start=b.start_ns,
                count=b.count,
                min=finite(b.min),
                max=finite(b.max),
                sum=finite(b.sum),
                avg=finite(b.avg),
            )
            for b in response.buckets
        ]

    @strawberry.field(
        permission_classes=[IsSignedIn, CanReadTenant], description="The newest value of each series."
    )
    async def latest(self, info: Info, series_ids: list[strawberry.ID]) -> list[LiveValue]:
        values = await info.context.tenant_loaders().latest.load_many([str(s) for s in series_ids])
        return [LiveValue.from_pb(v) for v in values if v is not None]


@strawberry.type
class TelemetrySubscription:
    @strawberry.subscription(
        permission_classes=[IsSignedIn, CanReadTenant], description="Values of the series as stored."
    )
    async def live_values(
        self, info: Info, series_ids: list[strawberry.ID]
    ) -> AsyncGenerator[LiveValue, None]:
        ctx = info.context
        if not 0 < len(series_ids) <= MAX_LIVE_SERIES:
            raise ApiError(f"seriesIds must hold 1 to {MAX_LIVE_SERIES} ids", "BAD_USER_INPUT")
        loaders = ctx.tenant_loaders()
        wanted = {str((await loaders.require_series(str(s))).id) for s in series_ids}
        pubsub = ctx.redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(live_channel(ctx.principal.require_tenant()))
        try:
            async for message in pubsub.listen():
                for point in json.loads(message["data"])["points"]:
                    if point["s"] in wanted:
                        yield LiveValue(
                            series_id=strawberry.ID(point["s"]), timestamp=point["t"], value=point["v"]
                        )
        finally:
            await pubsub.aclose()
