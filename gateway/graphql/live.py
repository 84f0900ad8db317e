"""Live values to one subscriber through a bounded queue, so a client that reads slowly (or never) costs
the server at most ``MAX_PENDING`` values, not a growing buffer.

A task reads the tenant's live channel from Redis at Redis's pace and keeps, for the subscription, the
newest ``MAX_PENDING`` matching values; the subscription sends them at the client's pace (uvicorn's
websocket send waits while the socket's buffer is full). When the queue is full the oldest value goes,
and the next value sent says how many were dropped before it (``missed``): a live chart shows a gap,
nothing is lost silently, and Redis never holds back output for a slow subscriber either.
"""

from __future__ import annotations

import asyncio
import collections
import json
from collections.abc import AsyncIterator

MAX_PENDING = 1_000


class LiveRelay:
    """At most ``capacity`` points waiting; the oldest make way, counted."""

    def __init__(self, capacity: int = MAX_PENDING) -> None:
        self._capacity = capacity
        self._waiting: collections.deque[dict] = collections.deque()
        self._ready = asyncio.Event()
        self._missed = 0
        self._failure: BaseException | None = None
        self.dropped = 0  # in all, for this subscription
        self.most_waiting = 0

    def offer(self, point: dict) -> None:
        if len(self._waiting) == self._capacity:
            self._waiting.popleft()
            self._missed += 1
            self.dropped += 1
        self._waiting.append(point)
        self.most_waiting = max(self.most_waiting, len(self._waiting))
        self._ready.set()

    def fail(self, error: BaseException) -> None:
        self._failure = error
        self._ready.set()

    async def take(self) -> tuple[dict, int]:
        """The oldest waiting point and how many were dropped since the previous one was taken."""
        while not self._waiting:
            if self._failure is not None:
                raise self._failure
            self._ready.clear()
            await self._ready.wait()
        missed, self._missed = self._missed, 0
        return self._waiting.popleft(), missed


async def relay(messages: AsyncIterator[dict], wanted: set[str], into: LiveRelay) -> None:
    """Feed the points of ``wanted`` series from pub/sub ``messages`` into the relay until cancelled."""
    try:
        async for message in messages:
            for point in json.loads(message["data"])["points"]:
                if point["s"] in wanted:
                    into.offer(point)
    except Exception as error:  # the subscription ends with it (Redis went away, say)
        into.fail(error)
