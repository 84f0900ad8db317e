"""Token buckets in Redis, shared by every process that names the same key.

One Lua call takes tokens atomically, so any number of ingest or gateway processes share a
quota. A bucket starts full, refills at ``rate`` tokens a second up to ``capacity``, and
expires once it would be full again (an idle caller costs no memory).
Used by ingest (points per second) and the gateway (API requests per minute).

While Redis does not answer, each process holds the same buckets in its own memory
(`LocalBuckets`): a limit then applies per process instead of across them, but it still applies;
letting everything through would hand a dark Redis's minutes to whoever floods first.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from services.runtime.metrics import LIMITS_HELD_LOCALLY

log = logging.getLogger(__name__)
REPORT_EVERY_S = 60.0  # held locally: logged at the first take, then at most this often
SWEEP_FROM = 1_024  # local buckets held before expired ones are first swept out

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


def _refill_ms(tokens: float, rate: float) -> int:
    """Milliseconds until ``tokens`` more have come in, rounded up as `_TAKE` rounds them."""
    return math.ceil(tokens * 1000 / rate)


class LocalBuckets:
    """The buckets of `_TAKE`, held in this process: same refill, same answers, same expiry."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._held: dict[str, tuple[float, int, int]] = {}  # key: tokens, at (ms), expires at (ms)
        self._sweep_past = SWEEP_FROM

    def take(self, key: str, rate: float, capacity: int, cost: int = 1) -> Take:
        now = math.floor(self._clock() * 1000)
        held = self._held.get(key)
        tokens, at = (held[0], held[1]) if held and now < held[2] else (capacity, now)
        tokens = min(capacity, tokens + max(0, now - at) * rate / 1000)
        allowed = cost <= tokens
        if allowed:
            tokens -= cost
            self._held[key] = (tokens, now, now + _refill_ms(capacity, rate) + 1000)
            self._sweep(now)
        wait_s = 0.0 if allowed else _refill_ms(cost - tokens, rate) / 1000
        return Take(allowed, math.floor(tokens), wait_s, _refill_ms(capacity - tokens, rate) / 1000)

    def __len__(self) -> int:
        return len(self._held)

    def _sweep(self, now: int) -> None:
        """Forget expired buckets once twice as many are held as after the last sweep (amortised O(1))."""
        if len(self._held) <= self._sweep_past:
            return
        self._held = {key: held for key, held in self._held.items() if held[2] > now}
        self._sweep_past = max(SWEEP_FROM, 2 * len(self._held))


class TokenBuckets:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._take = redis.register_script(_TAKE)
        self._local = LocalBuckets()
        self._held_locally = 0  # takes since the last report
        self._reported_at = -math.inf

    async def take(self, key: str, rate: float, capacity: int, cost: int = 1) -> Take:
        """Spend ``cost`` tokens of the bucket at ``key``, in Redis, or in this process while Redis fails."""
        now_ms = math.floor(time.time() * 1000)
        try:
            allowed, remaining, wait_ms, full_ms = await self._take(
                keys=[key], args=[rate, capacity, now_ms, cost]
            )
        except RedisError as exc:
            self._report(exc)
            return self._local.take(key, rate, capacity, cost)
        return Take(bool(allowed), int(remaining), wait_ms / 1000, full_ms / 1000)

    def _report(self, exc: RedisError) -> None:
        self._held_locally += 1
        LIMITS_HELD_LOCALLY.add()
        now = time.monotonic()
        if now - self._reported_at < REPORT_EVERY_S:
            return
        log.warning(
            "Redis unreachable: %d limit checks held by this process alone",
            self._held_locally,
            extra={"held_locally": self._held_locally, "error": repr(exc)},
        )
        self._held_locally, self._reported_at = 0, now
