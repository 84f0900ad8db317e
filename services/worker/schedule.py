"""Runs a pass (retention, the daily level assessments, the sweeps that put back what Redis lost of the job
queues) every ``interval_s``, by one worker at a time, whatever the number of workers.

The turn is a Redis key (``retention:lock``, ``levels:lock``, ``exports:sweep:lock``,
``compact:sweep:lock``) taken with ``SET <key> <holder> NX PX
<interval>`` and left to expire
(not released after a successful pass): whichever worker takes it runs the pass, and no worker runs
another before the interval is over, so the passes stay an interval apart across all workers. A worker
killed mid-pass holds the turn until it expires; the next pass then finishes what it left (a pass is
idempotent). A pass that fails (database or tenancy unavailable) releases the turn, if it still holds it,
so another try comes sooner. The keys hold no tenant data (the other exceptions to the `t:{tenant}:`
prefix, beside the compaction queue's keys).

Why Redis, not a PostgreSQL advisory lock: a pass spans many short transactions on several cells, so a
session advisory lock would pin one pooled connection of one cell for the whole pass and would only
exclude, not space, the passes (each worker would run one right after the other finished).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Protocol

from redis.exceptions import RedisError

from services.runtime.errors import ServiceError
from services.worker.turns import Turns

log = logging.getLogger(__name__)

RETENTION_LOCK = "retention:lock"
LEVELS_LOCK = "levels:lock"
EXPORT_SWEEP_LOCK = "exports:sweep:lock"
COMPACTION_SWEEP_LOCK = "compact:sweep:lock"


class Pass(Protocol):
    async def run_pass(self, now_ns: int | None = None) -> Any: ...


class SpacedPasses:
    def __init__(self, redis: Any, key: str, service: Pass, interval_s: float, holder: str) -> None:
        self._key = key
        self._service = service
        self._interval_ms = max(1, int(interval_s * 1000))
        self._turns = Turns(redis, holder)
        self.stopping = asyncio.Event()

    async def run(self) -> None:
        """Try for the turn every minute (or every interval, if shorter) until stopped."""
        wait_s = min(self._interval_ms / 1000, 60.0)
        while not self.stopping.is_set():
            try:
                await self.run_once()
            except (RedisError, OSError, ServiceError) as exc:
                log.warning("scheduled pass failed", extra={"pass": self._key, "error": repr(exc)})
            except Exception:  # a bug: logged, the loop goes on
                log.exception("scheduled pass failed", extra={"pass": self._key})
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), wait_s)

    async def run_once(self, now_ns: int | None = None) -> Any:
        """A pass if this worker gets the turn; None when another worker has it."""
        if not await self._turns.take(self._key, self._interval_ms):
            return None
        try:
            return await self._service.run_pass(now_ns)
        except BaseException:
            with contextlib.suppress(RedisError, OSError):
                await asyncio.shield(self._turns.give_back(self._key))
            raise
