"""Publishing each committed batch's latest values on the tenant's Redis channel.

Live values are a convenience on top of what is stored: a Redis failure is
logged and never fails a batch that PostgreSQL already committed.
"""

from __future__ import annotations

import json
import logging
import math
import uuid
from typing import Protocol

from services.ingest.batches import SeriesColumns
from services.runtime.keys import live_channel

log = logging.getLogger(__name__)


class Publisher(Protocol):
    async def publish(self, channel: str, message: str) -> int: ...


def live_message(series: list[SeriesColumns]) -> str:
    """One JSON message: the last point of each series, non-finite values as null."""
    points = []
    for s in series:
        value = float(s.values[-1])
        points.append(
            {"s": str(s.series_id), "t": int(s.timestamps[-1]), "v": value if math.isfinite(value) else None}
        )
    return json.dumps({"points": points})


class LivePublisher:
    def __init__(self, redis: Publisher) -> None:
        self._redis = redis

    async def publish(self, tenant_id: uuid.UUID, series: list[SeriesColumns]) -> None:
        try:
            await self._redis.publish(live_channel(tenant_id), live_message(series))
        except Exception as exc:  # live values are best effort; storage already succeeded
            log.warning("live publish failed", extra={"error": repr(exc)})
