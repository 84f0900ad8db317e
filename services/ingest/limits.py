"""Points-per-second quotas: a token bucket per tenant in Redis, refilled at the plan's rate.

The bucket holds a minute of the plan's rate, so a short burst (a reconnect, a few buffered seconds)
passes; beyond it a batch is refused whole with RESOURCE_EXHAUSTED and how long to wait, and nothing
of it is stored. The check is one Lua call (`services/runtime/buckets.py`), atomic across any number
of ingest processes; while Redis is unreachable, each ingest process holds the buckets itself.
"""

from __future__ import annotations

import uuid

import redis.asyncio as aioredis

from services.runtime.buckets import TokenBuckets
from services.runtime.errors import ResourceExhausted
from services.runtime.keys import tenant_key

BURST_S = 60


class PointRate:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._buckets = TokenBuckets(redis)

    async def take(
        self, tenant_id: uuid.UUID, points_per_second: int, points: int, lane: str = "live"
    ) -> None:
        """Spend ``points`` tokens of the tenant's bucket for the lane (live or backfill: each has its own
        quota of the plan's rate), or refuse the batch with the time to wait."""
        if points_per_second <= 0 or points == 0:
            return
        capacity = points_per_second * BURST_S
        if points > capacity:
            raise ResourceExhausted(
                f"a batch of {points} points is larger than the plan allows in {BURST_S} s",
                reason="BATCH_OVER_QUOTA",
            )
        key = tenant_key(tenant_id, "ingest", lane, "bucket")
        taken = await self._buckets.take(key, points_per_second, capacity, points)
        if not taken.allowed:
            raise ResourceExhausted(
                f"over the plan's {points_per_second:,} points/s ({lane} lane); retry in {taken.wait_s:.1f} s",
                reason="RATE_LIMITED",
                retry_after_s=taken.wait_s,
            )
