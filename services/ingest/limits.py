"""Points-per-second quotas: a token bucket per tenant in Redis, refilled at the plan's rate.

The bucket holds a minute of the plan's rate, so a short burst (a reconnect, a few buffered seconds)
passes; beyond it a batch is refused whole with RESOURCE_EXHAUSTED and how long to wait, and nothing
of it is stored. The check is one Lua call, atomic across any number of ingest processes. If Redis is
unreachable, ingest goes on without the check (logged): quotas are commercial, the data is not.
"""

from __future__ import annotations

import logging
import time
import uuid

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from services.runtime.errors import ResourceExhausted
from services.runtime.keys import tenant_key

log = logging.getLogger(__name__)
BURST_S = 60

# KEYS[1] bucket; ARGV: rate (tokens/s), capacity, now (ms), cost. Returns {allowed, wait ms}.
_TAKE = """
local rate, capacity, now, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(state[1]) or capacity, tonumber(state[2]) or now
tokens = math.min(capacity, tokens + (now - at) * rate / 1000)
if cost > tokens then
  return {0, math.ceil((cost - tokens) * 1000 / rate)}
end
redis.call('HSET', KEYS[1], 'tokens', tokens - cost, 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity * 1000 / rate) + 1000)
return {1, 0}
"""


class PointRate:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._take = redis.register_script(_TAKE)

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
        try:
            allowed, wait_ms = await self._take(
                keys=[key], args=[points_per_second, capacity, int(time.time() * 1000), points]
            )
        except RedisError as exc:
            log.warning("rate limit unavailable, batch let through", extra={"error": repr(exc)})
            return
        if not allowed:
            raise ResourceExhausted(
                f"over the plan's {points_per_second:,} points/s ({lane} lane); retry in {wait_ms / 1000:.1f} s",
                reason="RATE_LIMITED",
                retry_after_s=wait_ms / 1000,
            )
