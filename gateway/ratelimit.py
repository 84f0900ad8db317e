"""Requests per minute of each API key and of each person signed in to the web app, from the tenant's
plan, shared by every gateway process.

A token bucket in Redis (`services/runtime/buckets.py`, the one ingest's quotas use) holds a minute of
the plan's rate and refills continuously: `api_requests_per_minute` per API key,
`session_requests_per_minute` per person (user) for cookie sessions. A person's sessions share one
bucket: signing in again must not buy a fresh minute, and a person's tabs together stay far below the
figure (a page of the web app makes a handful of requests as it loads and none while it stays open;
live values come over the websocket). Responses carry the IETF draft headers `RateLimit-Limit`,
`RateLimit-Remaining` and `RateLimit-Reset` (seconds until the bucket is full again) and
`RateLimit-Policy`; a refused request gets 429 with `Retry-After` and the GraphQL error code
`RATE_LIMITED`. While Redis is unreachable each gateway process holds the buckets itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import redis.asyncio as aioredis

from gateway.plans import ApiLimits
from gateway.sessions import NO_TENANT
from services.runtime.buckets import TokenBuckets
from services.runtime.keys import tenant_key
from services.runtime.principal import Kind, Principal

WINDOW_S = 60


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    headers: dict[str, str]
    limit: int = 0  # requests a minute, when the caller is limited


ALLOWED = Verdict(True, {})


def rate_of(principal: Principal | None, limits: ApiLimits) -> tuple[str, int] | None:
    """The bucket and requests a minute of a caller: an API key's own, a person's across their sessions;
    None for callers no plan limits (anonymous requests, which can do nothing but sign in)."""
    if principal is None:
        return None
    tenant = principal.tenant_id or NO_TENANT
    if principal.kind is Kind.API_KEY and principal.tenant_id is not None:
        return tenant_key(tenant, "api_key", principal.subject, "rate"), limits.api_requests_per_minute
    if principal.kind is Kind.USER:
        return tenant_key(tenant, "user", principal.subject, "rate"), limits.session_requests_per_minute
    return None


class ApiRateLimiter:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._buckets = TokenBuckets(redis)

    async def check(self, principal: Principal | None, limits: ApiLimits) -> Verdict:
        """Take one request from the caller's bucket."""
        rate = rate_of(principal, limits)
        if rate is None:
            return ALLOWED
        key, limit = rate
        taken = await self._buckets.take(key, limit / WINDOW_S, limit)
        headers = {
            "ratelimit-limit": str(limit),
            "ratelimit-remaining": str(taken.remaining),
            "ratelimit-reset": str(math.ceil(taken.full_s)),
            "ratelimit-policy": f"{limit};w={WINDOW_S}",
        }
        if not taken.allowed:
            headers["retry-after"] = str(max(1, math.ceil(taken.wait_s)))
        return Verdict(taken.allowed, headers, limit)
