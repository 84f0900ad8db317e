"""Browser sessions in Redis: random ids, idle and absolute expiry, a CSRF token each.

People who can change a tenant or the platform (owners, admins, the platform operator) get the
shorter admin idle lifetime (OWASP: idle ≤ 30 min, ≤ 15 min for administrators; RELIABILITY A3).

The cookie holds `<tenant>.<id>`; the Redis key is `t:<tenant>:session:<id>`,
so every key starts with its tenant and a forged tenant part finds nothing.

Redis failing (down, or slower than the client's command timeout) is `Unavailable`: a signed-in
request is answered 503 at once rather than waiting on the store (RELIABILITY D7).
"""

from __future__ import annotations

import functools
import json
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass
from typing import ParamSpec, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from services.runtime.errors import Unavailable
from services.runtime.keys import tenant_key
from services.runtime.principal import Kind, Principal, Role

NO_TENANT = uuid.UUID(int=0)  # key space of users who belong to no tenant (the platform operator)
UNREACHABLE = "sessions are unavailable for a moment (the session store did not answer); try again shortly"

P = ParamSpec("P")
R = TypeVar("R")


def _store_call(method: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """The method's Redis errors as `Unavailable`, which every caller already answers with 503."""

    @functools.wraps(method)
    async def calling(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(*args, **kwargs)
        except RedisError as exc:
            raise Unavailable(UNREACHABLE) from exc

    return calling


@dataclass(frozen=True)
class Session:
    user_id: str
    email: str
    display_name: str
    tenant_id: str | None
    tenant_name: str | None
    role: str | None
    platform_operator: bool
    csrf_token: str
    created_at: float
    supplier_id: str | None = None
    supplier_role: str | None = (
        None  # "admin" or "staff": what the portal offers (tenancy decides what they may)
    )
    public_id: str = ""  # shown in session lists; the cookie's secret never is
    origin: str = ""
    user_agent: str = ""
    cell: str = "default"

    @property
    def administers(self) -> bool:
        return self.platform_operator or self.role in (Role.OWNER.value, Role.ADMIN.value)

    @property
    def principal(self) -> Principal:
        return Principal(
            kind=Kind.USER,
            subject=self.user_id,
            tenant_id=uuid.UUID(self.tenant_id) if self.tenant_id else None,
            role=Role(self.role) if self.role else None,
            platform_operator=self.platform_operator,
            supplier_id=uuid.UUID(self.supplier_id) if self.supplier_id else None,
            cell=self.cell,
        )


class SessionStore:
    def __init__(self, redis: aioredis.Redis, idle_s: int, max_s: int, admin_idle_s: int) -> None:
        self._redis = redis
        self._idle_s = idle_s
        self._admin_idle_s = min(admin_idle_s, idle_s)
        self._max_s = max_s

    def _idle_of(self, session: Session) -> int:
        return self._admin_idle_s if session.administers else self._idle_s

    @staticmethod
    def _key(cookie: str) -> str | None:
        tenant, _, session_id = cookie.partition(".")
        try:
            return tenant_key(uuid.UUID(tenant), "session", session_id) if len(session_id) >= 32 else None
        except ValueError:
            return None

    @staticmethod
    def _index(session: Session) -> str:
        """A user's sessions in a tenant: public id → session key, so they can be listed and revoked."""
        return tenant_key(
            uuid.UUID(session.tenant_id) if session.tenant_id else NO_TENANT,
            "user",
            session.user_id,
            "sessions",
        )

    @_store_call
    async def create(self, **fields: object) -> tuple[str, Session]:
        public_id = secrets.token_hex(8)
        session = Session(
            csrf_token=secrets.token_urlsafe(32), created_at=time.time(), public_id=public_id, **fields
        )
        cookie = f"{session.tenant_id or NO_TENANT}.{secrets.token_urlsafe(32)}"
        key, index = self._key(cookie), self._index(session)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(key, json.dumps(asdict(session)), ex=self._idle_of(session))
            pipe.hset(index, public_id, key)
            pipe.expire(index, self._max_s)
            await pipe.execute()
        return cookie, session

    @_store_call
    async def list_for(self, current: Session) -> list[Session]:
        """The signed-in user's live sessions in this tenant (stale index entries are dropped)."""
        index = self._index(current)
        found = []
        for public_id, key in (await self._redis.hgetall(index)).items():
            raw = await self._redis.get(key)
            if raw is None:
                await self._redis.hdel(index, public_id)
            else:
                found.append(Session(**json.loads(raw)))
        return sorted(found, key=lambda s: s.created_at)

    @_store_call
    async def revoke(self, current: Session, public_id: str) -> bool:
        """End one of the user's own sessions; False when there is no such session."""
        index = self._index(current)
        key = await self._redis.hget(index, public_id)
        if key is None:
            return False
        await self._redis.delete(key)
        await self._redis.hdel(index, public_id)
        return True

    @_store_call
    async def get(self, cookie: str | None) -> Session | None:
        key = self._key(cookie) if cookie else None
        raw = await self._redis.get(key) if key else None
        if raw is None:
            return None
        session = Session(**json.loads(raw))
        if time.time() - session.created_at > self._max_s:
            await self._redis.delete(key)
            return None
        await self._redis.expire(key, self._idle_of(session))
        return session

    @_store_call
    async def live(self, cookies: Iterable[str]) -> set[str]:
        """Which of ``cookies`` still name a session within its idle and absolute lifetime, in one round
        trip and without extending any: an open live socket is no activity (RELIABILITY G3)."""
        cookies = [c for c in cookies if self._key(c)]
        if not cookies:
            return set()
        found = await self._redis.mget([self._key(c) for c in cookies])
        now = time.time()
        return {
            cookie
            for cookie, raw in zip(cookies, found, strict=True)
            if raw is not None and now - json.loads(raw)["created_at"] <= self._max_s
        }

    @_store_call
    async def delete(self, cookie: str | None) -> None:
        key = self._key(cookie) if cookie else None
        if key:
            await self._redis.delete(key)
