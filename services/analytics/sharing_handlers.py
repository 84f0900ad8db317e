"""gRPC ⇄ domain translation for SharedQueryService; the rules live in `sharing`."""

from __future__ import annotations

from services.analytics.sharing import SharedQueries
from services.analytics.windows import RawWindow
from services.runtime.principal import current_principal
from sfcloud.v1 import sharing_pb2 as pb
from sfcloud.v1 import sharing_pb2_grpc


class SharedQueryHandlers(sharing_pb2_grpc.SharedQueryServiceServicer):
    def __init__(self, shared: SharedQueries, window: RawWindow) -> None:
        self._shared = shared
        self._window = window

    async def ReadSharedPoints(self, request, context) -> pb.ReadSharedPointsResponse:
        await self._window.check(current_principal(), request.range.start_ns, request.range.end_ns)
        page = await self._shared.read_points(
            current_principal(),
            request.grant_id,
            request.series_id,
            request.range.start_ns,
            request.range.end_ns,
            request.limit,
            request.page_token,
        )
        return pb.ReadSharedPointsResponse(
            timestamps_ns=page.timestamps.tolist(),
            values=page.values.tolist(),
            has_more=page.has_more,
            next_page_token=page.next_token,
        )

    async def AggregateShared(self, request, context) -> pb.AggregateSharedResponse:
        b = await self._shared.aggregate(
            current_principal(),
            request.grant_id,
            request.series_id,
            request.range.start_ns,
            request.range.end_ns,
            request.bucket_ns,
        )
        columns = (b.starts, b.counts, b.mins, b.maxs, b.sums, b.avgs)
        return pb.AggregateSharedResponse(
            buckets=[
                pb.SharedBucket(start_ns=start, count=count, min=low, max=high, sum=total, avg=avg)
                for start, count, low, high, total, avg in zip(*(c.tolist() for c in columns), strict=True)
            ]
        )
