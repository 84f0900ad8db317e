"""Every process's Redis client, on a bounded pool.

redis-py's default pool opens a connection for every command in flight and keeps them all, so one
burst of concurrent requests leaves a gateway holding hundreds of Redis connections for good (the
soak test saw the count climb with each latency spike). A blocking pool caps them: past the cap a
command waits up to ``WAIT_S`` for a connection to come back, then fails like any Redis error.
A command on a link gone dark waits for its reply forever unless the client has a command timeout; a
client with one also stops asking for a moment after a command went unanswered (`redis_breaker.py`).
"""

from __future__ import annotations

import redis.asyncio as aioredis

from services.runtime.redis_breaker import Breaker, GuardedRedis

MAX_CONNECTIONS = 64
WAIT_S = 5.0


def redis_client(url: str, command_timeout_s: float | None = None) -> aioredis.Redis:
    """A client owning a pool of at most ``MAX_CONNECTIONS`` (closed with the client). With
    ``command_timeout_s``, connecting and each reply fail with redis' TimeoutError past it, and a command
    that went unanswered makes the next ones fail at once for a moment; none for a process that blocks
    on Redis on purpose (the worker's stream reads)."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        timeout=WAIT_S,
        socket_timeout=command_timeout_s,
        socket_connect_timeout=command_timeout_s,
    )
    if command_timeout_s is None:
        return aioredis.Redis.from_pool(pool)
    return GuardedRedis.on(pool, Breaker())
