"""Timestamped batches from a machine model: a fast backfill of history, then one batch per tick.

Samples sit on a fixed grid: sample k is stamped ``origin_ns + k * dt_ns``
however punctual the event loop is. A late tick sends every sample that came
due, and the backfill and the live ticks after it form one unbroken series,
since both come from the same model, one step after the other.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sf.simulate.signals import MachineModel
from sfclient.session import DeviceSession
from sfcloud.v1 import ingest_pb2

BATCH_TICKS = 300  # samples per series in one backfill or catch-up batch


@dataclass(frozen=True)
class TickClock:
    """The sample grid shared by a fleet: which ticks are history and when the live ones fall due."""

    origin_ns: int  # wall-clock time of tick 0, ns since the epoch
    dt_ns: int
    live_tick: int  # the first tick that is not history; it falls due at monotonic time live_at
    live_at: float

    @classmethod
    def starting_now(cls, rate_hz: float, history_s: float = 0.0) -> TickClock:
        """Live ticks from the next grid point on, preceded by ``history_s`` seconds of history."""
        if rate_hz <= 0 or history_s < 0:
            raise ValueError(f"need rate_hz > 0 and history_s >= 0, not {rate_hz} and {history_s}")
        dt_ns = max(round(1e9 / rate_hz), 1)
        now_ns, now_mono = time.time_ns(), time.monotonic()
        live_ns = -(-now_ns // dt_ns) * dt_ns
        history = math.ceil(history_s * 1e9 / dt_ns)
        return cls(live_ns - history * dt_ns, dt_ns, history, now_mono + (live_ns - now_ns) / 1e9)

    @property
    def dt_s(self) -> float:
        return self.dt_ns / 1e9

    def due(self, now: float) -> int:
        """How many ticks (history included) have fallen due by monotonic time ``now``."""
        return self.live_tick + max(math.floor((now - self.live_at) / self.dt_s) + 1, 0)

    def due_at(self, tick: int) -> float:
        return self.live_at + (tick - self.live_tick) * self.dt_s


class MachineFeed:
    """The next samples of one machine as SeriesPoints, one entry per series."""

    def __init__(self, model: MachineModel, series_ids: Sequence[str], clock: TickClock) -> None:
        if len(series_ids) != len(model.names):
            raise ValueError(f"{len(series_ids)} series ids for {len(model.names)} series")
        self._model, self._ids, self._clock = model, tuple(series_ids), clock
        self.next_tick = 0

    def take(self, n: int) -> list[ingest_pb2.SeriesPoints]:
        values = self._model.step(n)
        ticks = self.next_tick + np.arange(n, dtype=np.int64)
        timestamps = (self._clock.origin_ns + ticks * self._clock.dt_ns).tolist()
        self.next_tick += n
        return [
            ingest_pb2.SeriesPoints(
                series_id=series_id, timestamps_ns=timestamps, values=values[:, i].tolist()
            )
            for i, series_id in enumerate(self._ids)
        ]


async def backfill(feed: MachineFeed, session: DeviceSession, until_tick: int) -> bool:
    """History up to ``until_tick`` in big batches, as fast as the backlog drains; False if the session ended."""
    while feed.next_tick < until_tick:
        if not await session.put(feed.take(min(BATCH_TICKS, until_tick - feed.next_tick))):
            return False
        await asyncio.sleep(0)  # put() only yields when the backlog is full; let the others run
    return True


async def live(feed: MachineFeed, session: DeviceSession, clock: TickClock) -> None:
    """Each tick's samples as they fall due, until cancelled or the session ends."""
    while True:
        due = clock.due(time.monotonic()) - feed.next_tick
        while due > 0:
            n = min(due, BATCH_TICKS)
            if not session.offer(feed.take(n)):
                return
            due -= n
        await asyncio.sleep(max(clock.due_at(feed.next_tick) - time.monotonic(), 0.0))


async def run_feed(feed: MachineFeed, session: DeviceSession, clock: TickClock) -> None:
    if await backfill(feed, session, clock.live_tick):
        await live(feed, session, clock)
