"""Token buckets in Redis, shared by every process that names the same key.

One Lua call takes tokens atomically, so any number of ingest or gateway processes share a
quota. A bucket starts full, refills at ``rate`` tokens a second up to ``capacity``, and
expires once it would be full again (an idle caller costs no memory).
Used by ingest (points per second) and the gateway (API requests per minute).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import redis.asyncio as aioredis

# KEYS[1] bucket; ARGV: rate (tokens/s), capacity, now (ms), cost.
# Returns {allowed, tokens left (floor), ms until `cost` more would pass, ms until full again}.
_TAKE = """
local rate, capacity, now, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(state[1]) or capacity, tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate / 1000)
if cost > tokens then
  return {0, math.floor(tokens), math.ceil((cost - tokens) * 1000 / rate),
          math.ceil((capacity - tokens) * 1000 / rate)}
end
tokens = tokens - cost
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity * 1000 / rate) + 1000)
return {1, math.floor(tokens), 0, math.ceil((capacity - tokens) * 1000 / rate)}
"""


@dataclass(frozen=True)
class Take:
    """What one take from a bucket found."""

    allowed: bool
    remaining: int  # whole tokens left after this take
    wait_s: float  # until the same take would pass (0 when it passed)
    full_s: float  # until the bucket is full again


class TokenBuckets:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._take = redis.register_script(_TAKE)

    async def take(self, key: str, rate: float, capacity: int, cost: int = 1) -> Take:
        """Spend ``cost`` tokens of the bucket at ``key``; raises redis errors for the caller to judge."""
        now_ms = math.floor(time.time() * 1000)
        allowed, remaining, wait_ms, full_ms = await self._take(
            keys=[key], args=[rate, capacity, now_ms, cost]
        )
        return Take(bool(allowed), int(remaining), wait_ms / 1000, full_ms / 1000)
