"""A Redis client that stops asking a Redis that stopped answering, for a moment.

With a command timeout, a dark Redis costs every command that timeout: every gateway request its
rate-limit check, every ingest batch its quota check, and under load each holds a pooled connection
meanwhile, so the pool runs dry and callers queue. After a command fails for want of an answer
(timeout, refused or reset connection), the commands of the next ``OPEN_S`` fail at once with the same
`ConnectionError` their callers already handle; then one command probes, and the first that gets an
answer lets everyone through again. A reply that is an error (Redis answered) is an answer: it opens
nothing, and a probe answered so closes the breaker (a script's first run is such a probe: `NOSCRIPT`,
then its load, which would otherwise be refused by the window the probe itself had opened).

Written here rather than taken from a library: pybreaker is synchronous (its async support is Tornado's)
and aiobreaker has had no release since 2019; the state is two numbers.
"""

from __future__ import annotations

import logging
import time

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline, PubSub
from redis.exceptions import ConnectionError, ResponseError, TimeoutError

from services.runtime.metrics import REDIS_BREAKER_OPENED

log = logging.getLogger(__name__)
OPEN_S = 1.0
UNANSWERED = (ConnectionError, TimeoutError)


class Breaker:
    """Closed (``open_until`` 0), open (now before ``open_until``), or probing (past it: the next call
    goes, and moves ``open_until`` on so the others wait for its outcome)."""

    def __init__(self, open_s: float = OPEN_S) -> None:
        self.open_s = open_s
        self.open_until = 0.0

    async def call(self, function, *args, **kwargs):
        """``function(*args, **kwargs)``'s reply, at once a `ConnectionError` while open."""
        self.admit()
        try:
            reply = await function(*args, **kwargs)
        except UNANSWERED as error:
            self.unanswered(error)
            raise
        except ResponseError:
            self.answered()
            raise
        self.answered()
        return reply

    def admit(self) -> None:
        now = time.monotonic()
        if now < self.open_until:
            raise ConnectionError(f"Redis did not answer a moment ago; asked again within {self.open_s:g} s")
        if self.open_until:
            self.open_until = now + self.open_s

    def answered(self) -> None:
        if self.open_until:
            log.info("Redis answers again")
        self.open_until = 0.0

    def unanswered(self, error: Exception) -> None:
        if not self.open_until:
            REDIS_BREAKER_OPENED.add()
            log.warning(
                "Redis did not answer: failing its commands at once for a while", extra={"error": repr(error)}
            )
        self.open_until = time.monotonic() + self.open_s


class GuardedRedis(aioredis.Redis):
    """Every command (scripts included), every pipeline and every new pub/sub connection through one
    `Breaker`."""

    breaker: Breaker

    @classmethod
    def on(cls, pool: aioredis.ConnectionPool, breaker: Breaker) -> GuardedRedis:
        client = cls.from_pool(pool)
        client.breaker = breaker
        return client

    async def execute_command(self, *args, **options):
        return await self.breaker.call(super().execute_command, *args, **options)

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> GuardedPipeline:
        pipe = GuardedPipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)
        pipe.breaker = self.breaker
        return pipe

    def pubsub(self, **kwargs) -> GuardedPubSub:
        pubsub = GuardedPubSub(self.connection_pool, event_dispatcher=self._event_dispatcher, **kwargs)
        pubsub.breaker = self.breaker
        return pubsub


class GuardedPipeline(Pipeline):
    breaker: Breaker

    async def execute(self, raise_on_error: bool = True) -> list:
        return await self.breaker.call(super().execute, raise_on_error)


class GuardedPubSub(PubSub):
    """Connecting goes through the breaker: refused at once while it is open, and opening it when the
    connection's handshake goes unanswered. Commands on a connection already made (subscribe, ping) are
    only sent, not answered in turn, so they neither open nor close it: a live reader's ping must not fail
    because another command timed out, nor a ping Redis never read close it."""

    breaker: Breaker

    async def connect(self) -> None:
        if self.connection is not None:
            return await super().connect()
        self.breaker.admit()
        try:
            return await super().connect()
        except UNANSWERED as error:
            self.breaker.unanswered(error)
            raise
