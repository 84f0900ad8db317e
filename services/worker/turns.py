"""Turns taken in Redis: a key set with ``SET key holder NX PX ms`` by one worker, given back only by that
worker. A holder whose turn expired (and another worker took) must not free the other's turn, so giving
back compares the holder in one Lua step. Alarm evaluation, anomaly scoring and the spaced passes take
their turns here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Turns:
    def __init__(self, redis: Any, holder: str) -> None:
        self._redis = redis
        self._holder = holder
        self._release = redis.register_script(_RELEASE)

    async def take(self, key: str, ms: int) -> bool:
        """The turn for ``ms`` milliseconds, if nobody holds it."""
        return bool(await self._redis.set(key, self._holder, nx=True, px=ms))

    async def give_back(self, key: str) -> None:
        """Free the turn, if this holder still holds it."""
        await self._release(keys=[key], args=[self._holder])

    @asynccontextmanager
    async def held(self, key: str, ms: int) -> AsyncIterator[bool]:
        """True inside when the turn was taken (and it is given back after); False when another holds it."""
        if not await self.take(key, ms):
            yield False
            return
        try:
            yield True
        finally:
            await self.give_back(key)
