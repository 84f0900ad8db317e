"""What a tenant's plan allows of live data (GraphQL subscriptions over websockets), shared by every
gateway process through Redis.

- `live_connections`: sockets the whole tenant holds open at once. Each initialised socket holds a
  lease (`services/runtime/leases.py`) renewed every ``RENEW_S`` while it stays open and given back
  when it closes; a gateway that dies stops holding its sockets' places within ``LEASE_S``.
- `live_subscriptions_per_connection`: operations running at once on one socket.
- `live_subscribes_per_minute`: subscribe messages of one person or API key, a token bucket holding
  a minute's worth (so reconnecting and subscribing again in a loop is held back too).

Callers outside any tenant hold no connection lease. If Redis is unreachable, sockets pass (logged;
nothing can be subscribed then, as live values come through Redis) and each gateway process holds the
subscribe buckets itself, as it does the request buckets of `gateway/ratelimit.py`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import uuid

import redis.asyncio as aioredis
from graphql import GraphQLError
from redis.exceptions import RedisError

from gateway.plans import ApiLimits
from gateway.ratelimit import WINDOW_S
from gateway.sessions import NO_TENANT
from services.runtime.buckets import TokenBuckets
from services.runtime.keys import tenant_key
from services.runtime.leases import Leases
from services.runtime.principal import Principal

log = logging.getLogger(__name__)
LEASE_S = 60.0
RENEW_S = LEASE_S / 3  # two renewals may fail before a live socket's place lapses


def connections_key(tenant_id: uuid.UUID) -> str:
    """The leases of a tenant's open live connections."""
    return tenant_key(tenant_id, "live-connections")


class TooManyConnections(Exception):
    """The tenant holds as many live connections as its plan allows."""


class LiveSlot:
    """An open socket's place among its tenant's live connections, renewed until given back."""

    def __init__(self, leases: Leases, key: str) -> None:
        self._leases = leases
        self._key = key
        self._holder = uuid.uuid4().hex
        self._renewing: asyncio.Task | None = None

    async def take(self, limit: int) -> bool:
        if not await self._leases.take(self._key, self._holder, limit, LEASE_S):
            return False
        self._renewing = asyncio.create_task(self._renew())
        return True

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(RENEW_S)
            try:
                await self._leases.renew(self._key, self._holder, LEASE_S)
            except RedisError as exc:
                log.warning("live connection lease not renewed", extra={"error": repr(exc)})

    async def give_back(self) -> None:
        if self._renewing is not None:
            self._renewing.cancel()
        try:
            await self._leases.give_back(self._key, self._holder)
        except RedisError as exc:  # the place lapses by itself within LEASE_S
            log.warning("live connection lease not given back", extra={"error": repr(exc)})


def rate_limited(message: str, reason: str, limit: int, **more: int) -> GraphQLError:
    return GraphQLError(
        message, extensions={"code": "RATE_LIMITED", "reason": reason, "limit": limit, **more}
    )


class LiveLimiter:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._leases = Leases(redis)
        self._buckets = TokenBuckets(redis)

    async def admit(self, principal: Principal | None, limits: ApiLimits) -> LiveSlot | None:
        """The socket's place among its tenant's connections (None: not counted); raises
        TooManyConnections when the tenant holds all its plan allows."""
        if principal is None or principal.tenant_id is None:
            return None
        slot = LiveSlot(self._leases, connections_key(principal.tenant_id))
        try:
            taken = await slot.take(limits.live_connections)
        except RedisError as exc:
            log.warning("live connection limit unavailable, socket let through", extra={"error": repr(exc)})
            return None
        if not taken:
            raise TooManyConnections(
                f"too many live connections: your plan allows {limits.live_connections:,} at a time"
            )
        return slot

    async def refusal(
        self, principal: Principal | None, limits: ApiLimits, running: int
    ) -> GraphQLError | None:
        """Why a subscribe on a socket already running ``running`` operations is refused, if it is."""
        most = limits.live_subscriptions_per_connection
        if running >= most:
            return rate_limited(
                f"over your plan's {most:,} subscriptions on one connection; complete one first",
                "TOO_MANY_SUBSCRIPTIONS",
                most,
            )
        if principal is None:
            return None
        rate = limits.live_subscribes_per_minute
        key = tenant_key(principal.tenant_id or NO_TENANT, principal.kind, principal.subject, "subscribes")
        taken = await self._buckets.take(key, rate / WINDOW_S, rate)
        if taken.allowed:
            return None
        wait = max(1, math.ceil(taken.wait_s))
        return rate_limited(
            f"over your plan's {rate:,} subscriptions a minute; retry in {wait} s",
            "SUBSCRIBE_RATE",
            rate,
            retryAfter=wait,
        )
