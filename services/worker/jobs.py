"""The worker's loop over the compaction queue (`services/runtime/compaction.py`): due hours moved into the
stream, jobs shared by the consumer group, acknowledged only after their compaction committed.

A job stays pending until acknowledged: a worker killed between XREADGROUP and XACK, or one whose series
was busy, leaves it in the group's pending list, and after ``claim_idle_s`` any worker takes it over with
XAUTOCLAIM. Doing a job twice is harmless (an hour already compacted is left alone).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from redis.exceptions import RedisError, ResponseError

from services.runtime.compaction import DUE_KEY, GROUP, JOBS_KEY, Job
from services.runtime.errors import ServiceError
from services.worker.service import Outcome

log = logging.getLogger(__name__)

# Move the members due by ARGV[1] (at most ARGV[2]) from the sorted set into the stream, atomically.
_PROMOTE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do
  redis.call('XADD', KEYS[2], '*', 'job', member)
  redis.call('ZREM', KEYS[1], member)
end
return #due
"""


async def ensure_group(redis: Any, stream: str, group: str) -> None:
    """The consumer group on the stream (both made if missing; an existing group is left as it is)."""
    try:
        await redis.xgroup_create(stream, group, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


class Compactor(Protocol):
    async def compact(self, job: Job) -> Outcome: ...


@dataclass(frozen=True)
class Entry:
    id: bytes
    job: Job | None  # None: a malformed entry, acknowledged and dropped


class JobQueue:
    def __init__(
        self, redis: Any, consumer: str, claim_idle_s: float, poll_s: float = 1.0, count: int = 16
    ) -> None:
        self._redis = redis
        self._consumer = consumer
        self.claim_idle_s = claim_idle_s
        self._poll_ms = max(1, int(poll_s * 1000))
        self._count = count
        self._promote = redis.register_script(_PROMOTE)

    async def ensure_group(self) -> None:
        await ensure_group(self._redis, JOBS_KEY, GROUP)

    async def promote(self, now_s: float | None = None) -> int:
        """Due hours into the stream; returns how many."""
        return await self._promote(keys=[DUE_KEY, JOBS_KEY], args=[now_s or time.time(), 1000])

    async def take(self, block: bool = True) -> list[Entry]:
        """Jobs left pending too long by anyone first, then new ones (waiting up to poll_s for them)."""
        try:
            return await self._take(block)
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await self.ensure_group()  # a new Redis, or the stream was deleted: start over
            return []

    async def _take(self, block: bool) -> list[Entry]:
        claimed = await self._redis.xautoclaim(
            JOBS_KEY, GROUP, self._consumer, int(self.claim_idle_s * 1000), "0-0", count=self._count
        )
        messages = claimed[1]
        if not messages:
            read = await self._redis.xreadgroup(
                GROUP,
                self._consumer,
                {JOBS_KEY: ">"},
                count=self._count,
                block=self._poll_ms if block else None,
            )
            messages = read[0][1] if read else []
        return [_entry(message_id, fields) for message_id, fields in messages if fields]

    async def keep(self, ids: list[bytes]) -> None:
        """Reset the entries' idle time: this worker is still on them."""
        if ids:
            await self._redis.xclaim(JOBS_KEY, GROUP, self._consumer, 0, ids, justid=True)

    async def done(self, entry: Entry) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(JOBS_KEY, GROUP, entry.id)
            pipe.xdel(JOBS_KEY, entry.id)
            await pipe.execute()


def _entry(message_id: bytes, fields: dict) -> Entry:
    try:
        return Entry(message_id, Job.parse(fields[b"job"]))
    except (KeyError, ValueError):
        log.error("malformed compaction job dropped", extra={"id": message_id})
        return Entry(message_id, None)


@contextlib.asynccontextmanager
async def kept_claimed(
    keep: Callable[[], Awaitable[object]], every_s: float, queue: str
) -> AsyncIterator[None]:
    """While inside, ``keep`` re-claims the entries this worker holds every ``every_s`` (XCLAIM resets an
    entry's idle time), so a job running longer than the claim timeout is not taken over by another worker
    and done twice; a worker that dies stops renewing and its jobs are taken over."""

    async def renew() -> None:
        while True:
            await asyncio.sleep(every_s)
            try:
                await keep()
            except RedisError as exc:
                log.warning(f"{queue} claim not renewed", extra={"error": repr(exc)})

    renewing = asyncio.create_task(renew(), name=f"{queue}-claims")
    try:
        yield
    finally:
        renewing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewing


async def run_until_stopped(
    stopping: asyncio.Event,
    ensure_group: Callable[[], Awaitable[None]],
    run_once: Callable[[], Awaitable[object]],
    queue: str,
) -> None:
    """A job loop: rounds until ``stopping``; while Redis is unreachable, a try every second."""
    while not stopping.is_set():
        try:
            await ensure_group()
            while not stopping.is_set():
                await run_once()
        except (RedisError, OSError) as exc:
            log.warning(f"{queue} queue unavailable", extra={"error": repr(exc)})
            await asyncio.sleep(1)


class CompactionRunner:
    """Takes jobs until stopped; one job at a time per process (run more processes for more)."""

    def __init__(self, queue: JobQueue, compactor: Compactor) -> None:
        self._queue = queue
        self._compactor = compactor
        self.stopping = asyncio.Event()

    async def run(self) -> None:
        await run_until_stopped(self.stopping, self._queue.ensure_group, self.run_once, "compaction")

    async def run_once(self, block: bool = True) -> int:
        """One round: promote due hours, take and do jobs; returns how many were acknowledged."""
        await self._queue.promote()
        entries = await self._queue.take(block)
        held = [entry.id for entry in entries]  # re-claimed while the round runs: later ones wait meanwhile
        acknowledged = 0
        async with kept_claimed(lambda: self._queue.keep(held), self._queue.claim_idle_s / 3, "compaction"):
            for entry in entries:
                if self.stopping.is_set():
                    break  # left pending: taken over after claim_idle_s
                if entry.job is None or await self._do(entry.job):
                    await self._queue.done(entry)
                    held.remove(entry.id)
                    acknowledged += 1
        return acknowledged

    async def _do(self, job: Job) -> bool:
        """True when the job is finished (compacted, or nothing to do)."""
        try:
            outcome = await self._compactor.compact(job)
        except ServiceError as exc:  # database unavailable: left pending, retried after claim_idle_s
            log.warning("compaction failed", extra={"job": job.member, "error": exc.message})
            return False
        except Exception:  # a bug or a corrupt block: logged, left pending (retried), the loop goes on
            log.exception("compaction failed", extra={"job": job.member})
            return False
        if outcome.merged:
            log.info(
                "compacted", extra={"job": job.member, "merged": outcome.merged, "written": outcome.written}
            )
        return not outcome.busy
