"""A live subscription resuming after a cursor: the values stored since, then live ones, none twice.

Live values travel by Redis pub/sub, which keeps nothing for a subscriber that is not connected: a
client whose socket dropped (or whose subscription ended because the gateway lost Redis) has missed
whatever was published meanwhile. It subscribes again with `after:` the newest timestamp it holds. The
gateway first listens to the live channel, and only then reads what is stored after that time, so a
value committed in between is in the stored read, in the live stream, or in both, and never in neither;
those in both (same series and timestamp) are sent once. The stored read ends where ingest's clock
allows points to reach (now and its future tolerance); it is a raw read, so an `after` older than the plan's
raw window less that tolerance is refused (`TIME_RANGE_TOO_WIDE`): read the gap with `points` instead.
"""

from __future__ import annotations

import heapq
import time

from gateway.graphql.assets import LiveValue, finite
from gateway.graphql.errors import ApiError
from services.runtime.validation import FUTURE_TOLERANCE_NS
from sfcloud.v1 import common_pb2, query_pb2

MAX_REPLAY = 10_000  # values a resume may send from storage; more: read them with `points`


async def stored_after(ctx, series_ids: list[str], after_ns: int) -> list[LiveValue]:
    """Every stored value of the series with a timestamp after ``after_ns``, in time order."""
    until_ns = time.time_ns() + FUTURE_TOLERANCE_NS  # nothing stored lies later
    per_series = [await _series_after(ctx, series_id, after_ns, until_ns) for series_id in sorted(series_ids)]
    return list(heapq.merge(*per_series, key=lambda v: v.timestamp))


async def _series_after(ctx, series_id: str, after_ns: int, until_ns: int) -> list[LiveValue]:
    values: list[LiveValue] = []
    token = ""
    while True:
        request = query_pb2.ReadPointsRequest(
            series_id=series_id,
            range=common_pb2.TimeRange(start_ns=after_ns + 1, end_ns=until_ns),
            limit=MAX_REPLAY + 1,
            page_token=token,
        )
        page = await ctx.backends.call(ctx.backends.query.ReadPoints, request, ctx.principal)
        values += [
            LiveValue(series_id=series_id, timestamp=t, value=finite(v))
            for t, v in zip(page.timestamps_ns, page.values, strict=True)
        ]
        if len(values) > MAX_REPLAY:
            raise ApiError(
                f"more than {MAX_REPLAY:,} values were stored after `after`: read them with `points`,"
                " then subscribe again after the newest",
                "BAD_USER_INPUT",
            )
        if not page.has_more:
            return values
        token = page.next_page_token


class Replayed:
    """The (series, timestamp) pairs a resume sent from storage: the live stream skips them."""

    def __init__(self, values: list[LiveValue]) -> None:
        self._sent = {(str(v.series_id), v.timestamp) for v in values}

    def already_sent(self, point: dict) -> bool:
        return (point["s"], point["t"]) in self._sent
