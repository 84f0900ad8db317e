"""Live values to one subscriber through a bounded queue, so a client that reads slowly (or never) costs
the server at most ``MAX_PENDING`` values, not a growing buffer.

The process's channel hub (`hub.py`) reads the tenant's live channel from Redis at Redis's pace and
offers each message to every listener; this keeps, for the subscription, the newest ``MAX_PENDING``
matching values; the subscription sends them at the client's pace (uvicorn's
websocket send waits while the socket's buffer is full). When the queue is full the oldest value goes,
and the next value sent says how many were dropped before it (``missed``): a live chart shows a gap,
nothing is lost silently, and Redis never holds back output for a slow subscriber either.
"""

from __future__ import annotations

import asyncio
import collections

from gateway.graphql.errors import ApiError

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


class SeriesFilter:
    """A hub listener: the points of the wanted series from each live-channel message, into a relay."""

    def __init__(self, wanted: set[str], into: LiveRelay) -> None:
        self._wanted, self._into = wanted, into

    def offer(self, message: dict) -> None:
        for point in message["points"]:
            if point["s"] in self._wanted:
                self._into.offer(point)

    def fail(self, error: BaseException) -> None:
        self._into.fail(error)


class EventQueue(LiveRelay):
    """A relay for events that must not be dropped (alarms, anomalies): a subscriber ``capacity``
    events behind is ended with an error that says so, rather than silently missing some."""

    def offer(self, point: dict) -> None:
        if self._failure is not None:
            return  # ended: nothing after the gap may reach the subscriber
        if len(self._waiting) == self._capacity:
            self.fail(
                ApiError(
                    f"the subscription fell {self._capacity} events behind: subscribe again", "RATE_LIMITED"
                )
            )
            return
        super().offer(point)
