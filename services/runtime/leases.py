"""Counted leases in Redis: at most ``limit`` holders of a key at once, shared by every process that
names the same key, each lease lapsing unless renewed.

A key is a sorted set of holders scored by when their lease lapses. Taking a lease first drops the
lapsed ones, so a holder that vanished without giving its lease back (a crashed process, a lost
connection to Redis) stops counting within ``ttl`` and nothing is locked out for longer. The key
itself expires ``ttl`` after the last take or renewal. Used by the gateway for the live
(subscription) connections a tenant holds open.
"""

from __future__ import annotations

import math
import time

import redis.asyncio as aioredis

# KEYS[1] set of holders; ARGV: now (ms), ttl (ms), limit, holder. Returns 1 when the lease was taken.
_TAKE = """
local now, ttl, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= limit then
  return 0
end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[4])
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
"""

# KEYS[1] set of holders; ARGV: now (ms), ttl (ms), holder. A lease that lapsed meanwhile is taken again:
# the holder is still there, so it counts.
_RENEW = """
redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
"""


def _now_ms() -> int:
    return math.floor(time.time() * 1000)


class Leases:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._take = redis.register_script(_TAKE)
        self._renew = redis.register_script(_RENEW)

    async def take(self, key: str, holder: str, limit: int, ttl_s: float) -> bool:
        """A lease on ``key`` for ``holder`` unless ``limit`` others hold one; raises redis errors."""
        taken = await self._take(keys=[key], args=[_now_ms(), math.ceil(ttl_s * 1000), limit, holder])
        return bool(taken)

    async def renew(self, key: str, holder: str, ttl_s: float) -> None:
        await self._renew(keys=[key], args=[_now_ms(), math.ceil(ttl_s * 1000), holder])

    async def give_back(self, key: str, holder: str) -> None:
        await self._redis.zrem(key, holder)
