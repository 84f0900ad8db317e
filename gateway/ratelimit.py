"""Requests per minute of each API key, from its tenant's plan, shared by every gateway process.

A token bucket per key in Redis (`services/runtime/buckets.py`, the one ingest's quotas use)
holds a minute of the plan's `api_requests_per_minute` and refills continuously. Responses carry
the IETF draft headers `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds
until the bucket is full again) and `RateLimit-Policy`; a refused request gets 429 with
`Retry-After` and the GraphQL error code `RATE_LIMITED`. If Redis is unreachable requests pass
(logged): a limit is commercial, the API is not.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from gateway.plans import ApiLimits
from services.runtime.buckets import TokenBuckets
from services.runtime.keys import tenant_key
from services.runtime.principal import Kind, Principal

log = logging.getLogger(__name__)
WINDOW_S = 60


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    headers: dict[str, str]


ALLOWED = Verdict(True, {})


class ApiRateLimiter:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._buckets = TokenBuckets(redis)

    async def check(self, principal: Principal | None, limits: ApiLimits) -> Verdict:
        """Take one request from the caller's bucket; only API keys are limited here."""
        if principal is None or principal.kind is not Kind.API_KEY or principal.tenant_id is None:
            return ALLOWED
        limit = limits.api_requests_per_minute
        key = tenant_key(principal.tenant_id, "api_key", principal.subject, "rate")
        try:
            taken = await self._buckets.take(key, limit / WINDOW_S, limit)
        except RedisError as exc:
            log.warning("API rate limit unavailable, request let through", extra={"error": repr(exc)})
            return ALLOWED
        headers = {
            "ratelimit-limit": str(limit),
            "ratelimit-remaining": str(taken.remaining),
            "ratelimit-reset": str(math.ceil(taken.full_s)),
            "ratelimit-policy": f"{limit};w={WINDOW_S}",
        }
        if not taken.allowed:
            headers["retry-after"] = str(max(1, math.ceil(taken.wait_s)))
        return Verdict(taken.allowed, headers)
