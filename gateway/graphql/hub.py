"""One Redis pub/sub connection per gateway process, shared by every subscription it serves.

A connection per subscription would cost Redis a client per open chart (10,000 subscribers, 10,000
clients, each with its own output buffer when its reader falls behind). Instead the hub subscribes a
channel on its one connection while at least one local subscription listens to it, decodes each
message once and hands it to each listener without waiting: every listener keeps its own bounded
queue (`gateway/graphql/live.py`), so a slow subscriber holds up neither Redis nor the others.

If the connection fails, every listener is told (its subscription ends with `UNAVAILABLE`, so no
client believes it is live while it hears nothing; it resumes with `after`, `resume.py`) and the next
subscription opens a new one. A subscribe Redis does not answer within the client's command timeout
is refused `UNAVAILABLE`. A quiet channel is normal, so the reader pings every ``HEARTBEAT_S``: a link
that carries nothing back, not even the replies, for ``2 * HEARTBEAT_S`` has gone dark, and is failed as
a lost one (TCP alone would take many minutes to say so).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Protocol

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub

from gateway.graphql.errors import ApiError

log = logging.getLogger(__name__)
HEARTBEAT_S = 5.0


def interrupted() -> ApiError:
    """What a subscription ends with when the hub loses Redis: expected, and what to do about it."""
    return ApiError(
        "live values were interrupted: subscribe again with `after` the newest timestamp you hold",
        "UNAVAILABLE",
    )


def unreachable() -> ApiError:
    """What a subscription is refused with when Redis does not answer its subscribe."""
    return ApiError(
        "live values are unavailable for a moment (Redis did not answer); subscribe again shortly",
        "UNAVAILABLE",
    )


class Listener(Protocol):
    def offer(self, message: dict) -> None: ...

    def fail(self, error: BaseException) -> None: ...


class ChannelHub:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task | None = None
        self._listeners: dict[str, list[Listener]] = {}
        self._lock = asyncio.Lock()

    @property
    def channels(self) -> int:
        """Channels subscribed on Redis now."""
        return len(self._listeners)

    @contextlib.asynccontextmanager
    async def listening(self, channel: str, listener: Listener) -> AsyncIterator[None]:
        """``listener`` is offered every message of ``channel`` (decoded JSON) until the block ends."""
        async with self._lock:
            listeners = self._listeners.setdefault(channel, [])
            listeners.append(listener)
            if len(listeners) == 1:
                try:
                    await self._subscribe(channel)
                except aioredis.RedisError as exc:
                    self._forget(channel, listener)
                    log.warning("live channel not subscribed", extra={"error": repr(exc)})
                    raise unreachable() from exc
                except BaseException:
                    self._forget(channel, listener)
                    raise
        try:
            yield
        finally:
            await asyncio.shield(self._leave(channel, listener))

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        if self._pubsub is not None:
            await self._pubsub.aclose()

    async def _subscribe(self, channel: str) -> None:
        if self._pubsub is not None:
            await self._pubsub.subscribe(channel)
            return
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(channel)
        except BaseException:
            await pubsub.aclose()
            raise
        self._pubsub, self._reader = pubsub, asyncio.create_task(self._read(pubsub))

    async def _leave(self, channel: str, listener: Listener) -> None:
        async with self._lock:
            if self._forget(channel, listener) and self._pubsub is not None:
                with contextlib.suppress(aioredis.RedisError):  # a broken connection: _read clears it
                    await self._pubsub.unsubscribe(channel)

    def _forget(self, channel: str, listener: Listener) -> bool:
        """Remove the listener; True when it was the channel's last."""
        listeners = self._listeners.get(channel, [])
        if listener in listeners:
            listeners.remove(listener)
        if listeners or channel not in self._listeners:
            return False
        del self._listeners[channel]
        return True

    async def _read(self, pubsub: PubSub) -> None:
        heard = pinged = time.monotonic()
        try:
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=HEARTBEAT_S)
                now = time.monotonic()
                if message is not None:
                    heard = now
                    if message["type"] != "pong":
                        self._deliver(message)
                if now - heard > 2 * HEARTBEAT_S:
                    raise aioredis.ConnectionError(
                        f"Redis sent nothing for {now - heard:.0f} s, pings unanswered"
                    )
                if now - pinged >= HEARTBEAT_S:
                    await pubsub.ping()
                    pinged = now
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the connection is gone: tell everyone, start afresh next time
            log.warning("live channel connection lost", extra={"error": repr(error)})
            self._broken()
            await pubsub.aclose()

    def _deliver(self, message: dict) -> None:
        channel = message["channel"].decode()
        try:
            data = json.loads(message["data"])
        except ValueError:
            log.error("unreadable message on a live channel", extra={"channel": channel})
            return
        for listener in tuple(self._listeners.get(channel, ())):
            listener.offer(data)

    def _broken(self) -> None:
        listeners, self._listeners = self._listeners, {}
        self._pubsub, self._reader = None, None
        for waiting in listeners.values():
            for listener in waiting:
                listener.fail(interrupted())
