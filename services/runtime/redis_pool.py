"""Every process's Redis client, on a bounded pool.

redis-py's default pool opens a connection for every command in flight and keeps them all, so one
burst of concurrent requests leaves a gateway holding hundreds of Redis connections for good (the
soak test saw the count climb with each latency spike). A blocking pool caps them: past the cap a
command waits up to ``WAIT_S`` for a connection to come back, then fails like any Redis error.
"""

from __future__ import annotations

import redis.asyncio as aioredis

MAX_CONNECTIONS = 64
WAIT_S = 5.0


def redis_client(url: str) -> aioredis.Redis:
    """A client owning a pool of at most ``MAX_CONNECTIONS`` (closed with the client)."""
    pool = aioredis.BlockingConnectionPool.from_url(url, max_connections=MAX_CONNECTIONS, timeout=WAIT_S)
    return aioredis.Redis.from_pool(pool)
