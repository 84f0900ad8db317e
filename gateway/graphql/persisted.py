"""Automatic persisted queries (Apollo's APQ protocol), kept per tenant in Redis.

A client sends `extensions.persistedQuery = {version: 1, sha256Hash}` without the query; if the
gateway knows the hash it runs the stored query, else it answers `PERSISTED_QUERY_NOT_FOUND` and
the client sends the query again with the hash, which registers it. The hash must be the
SHA-256 of the query text.

Each tenant's queries live in one hash `t:{tenant}:apq` (hash → query) with its use order in
`t:{tenant}:apq:used` (a sorted set by order of last use): at most `MAX_QUERIES` per tenant (the least
recently used go first), each at most `MAX_QUERY_BYTES`, and both keys expire `TTL_S` after the
tenant last used one. Keys start with their tenant like every key (`services/runtime/keys.py`),
so one tenant cannot learn which queries another runs, and offboarding removes them.
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from gateway.sessions import NO_TENANT
from services.runtime.keys import tenant_key

log = logging.getLogger(__name__)
MAX_QUERIES = 1000
MAX_QUERY_BYTES = 64 * 1024
TTL_S = 7 * 86_400
NOT_FOUND = "PersistedQueryNotFound"
_HASH = re.compile(r"[0-9a-f]{64}")

# The use order is a logical clock: one more than the latest use.
_NEXT = """
local function next_use(used)
  local top = redis.call('ZREVRANGE', used, 0, 0, 'WITHSCORES')
  return (tonumber(top[2]) or 0) + 1
end
"""

# KEYS: queries, used. ARGV: hash, query, max queries, ttl (ms).
_PUT = (
    _NEXT
    + """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], next_use(KEYS[2]), ARGV[1])
local extra = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[3])
if extra > 0 then
  local popped = redis.call('ZPOPMIN', KEYS[2], extra)
  for i = 1, #popped, 2 do redis.call('HDEL', KEYS[1], popped[i]) end
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
"""
)

# KEYS: queries, used. ARGV: hash, ttl (ms). Returns the query or nil.
_GET = (
    _NEXT
    + """
local query = redis.call('HGET', KEYS[1], ARGV[1])
if query then
  redis.call('ZADD', KEYS[2], 'XX', next_use(KEYS[2]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
return query
"""
)


class PersistedQueryError(Exception):
    """The persisted-query extension is malformed, or the hash does not match the query."""


def requested_hash(extensions: dict | None) -> str | None:
    """The SHA-256 the request names in `extensions.persistedQuery`, if it names one."""
    persisted = (extensions or {}).get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise PersistedQueryError("persistedQuery must be {version: 1, sha256Hash: <hex>}")
    sha = persisted.get("sha256Hash")
    if not isinstance(sha, str) or not _HASH.fullmatch(sha):
        raise PersistedQueryError("persistedQuery.sha256Hash must be 64 lowercase hex digits")
    return sha


class PersistedQueries:
    def __init__(self, redis: aioredis.Redis, max_queries: int = MAX_QUERIES, ttl_s: int = TTL_S) -> None:
        self._max, self._ttl_ms = max_queries, ttl_s * 1000
        self._put = redis.register_script(_PUT)
        self._get = redis.register_script(_GET)

    @staticmethod
    def _keys(tenant_id: uuid.UUID | None) -> list[str]:
        queries = tenant_key(tenant_id or NO_TENANT, "apq")
        return [queries, f"{queries}:used"]

    async def resolve(self, tenant_id: uuid.UUID | None, sha: str, query: str | None) -> str | None:
        """The query to run: the stored one for a bare hash (None if unknown), else the sent one,
        registered once its hash is checked. Without Redis nothing is found or kept (logged), and
        clients fall back to sending the query."""
        try:
            if query is None:
                found = await self._get(keys=self._keys(tenant_id), args=[sha, self._ttl_ms])
                return found.decode() if found is not None else None
            if hashlib.sha256(query.encode()).hexdigest() != sha:
                raise PersistedQueryError("provided sha256Hash does not match the query")
            if len(query.encode()) <= MAX_QUERY_BYTES:
                args = [sha, query, self._max, self._ttl_ms]
                await self._put(keys=self._keys(tenant_id), args=args)
        except RedisError as exc:
            log.warning("persisted queries unavailable", extra={"error": repr(exc)})
        return query
