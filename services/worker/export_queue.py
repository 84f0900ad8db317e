"""The export queue: a Redis stream, `export:jobs`, read by the consumer group `exporters`.

An entry holds ids only (``{cell}|{tenant}|{export}``; like the compaction queue, one stream serves every
tenant, the documented exception to the `t:{tenant}:` key prefix); the export's row in
`telemetry.exports` is the truth about it. `StartExport` adds the entry inside the transaction that
inserts the row, before it commits: a row that committed always has its entry. A worker may so read the
entry before the row is visible: it waits a few seconds for the row (services/worker/exporter.py), and an
entry whose row never committed finds nothing to do.

A worker holds one job at a time. While it runs, the worker re-claims the entry every third of
``claim_idle_s`` (XCLAIM by itself resets the entry's idle time), so a long export is not taken over; a
worker that dies stops doing so, and after ``claim_idle_s`` another takes the job over with XAUTOCLAIM
and starts it again from scratch. The entry is acknowledged once the export is done or failed, or when
the export needs nothing (finished, or held by a run's live lease in PostgreSQL: a duplicate entry).

Redis may lose entries (production's Valkey keeps no append-only file): the sweep
(services/worker/export_sweep.py) puts back those of exports PostgreSQL says are still to do.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from redis.exceptions import RedisError, ResponseError

from services.runtime.errors import ServiceError, Unavailable
from services.worker.exporter import ExportJob
from services.worker.jobs import ensure_group, kept_claimed, run_until_stopped

log = logging.getLogger(__name__)

JOBS_KEY = "export:jobs"
GROUP = "exporters"
PAGE = 1000  # entries read at once by ``members``


class ExportQueue:
    def __init__(self, redis: Any, consumer: str, claim_idle_s: float, poll_s: float = 1.0) -> None:
        self._redis = redis
        self._consumer = consumer
        self.claim_idle_s = claim_idle_s
        self._poll_ms = max(1, int(poll_s * 1000))

    async def ensure_group(self) -> None:
        await ensure_group(self._redis, JOBS_KEY, GROUP)

    async def put(self, job: ExportJob) -> None:
        try:
            await self._redis.xadd(JOBS_KEY, {"job": job.member})
        except (RedisError, OSError) as exc:
            raise Unavailable(
                "the export queue is unavailable, try again", reason="QUEUE_UNAVAILABLE"
            ) from exc

    async def take(self) -> tuple[bytes, ExportJob | None] | None:
        """A job left by a dead worker first, else a new one (waiting up to poll_s); None: nothing."""
        try:
            claimed = await self._redis.xautoclaim(
                JOBS_KEY, GROUP, self._consumer, int(self.claim_idle_s * 1000), "0-0", count=1
            )
            messages = claimed[1]
            if not messages:
                read = await self._redis.xreadgroup(
                    GROUP, self._consumer, {JOBS_KEY: ">"}, count=1, block=self._poll_ms
                )
                messages = read[0][1] if read else []
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await self.ensure_group()
            return None
        for message_id, fields in messages:
            return message_id, _job(message_id, fields)
        return None

    async def members(self) -> set[str]:
        """The job of every entry in the stream, waiting or taken (an entry is deleted once done)."""
        found: set[str] = set()
        start = "-"
        while True:
            page = await self._redis.xrange(JOBS_KEY, min=start, count=PAGE)
            found.update(fields.get(b"job", b"").decode() for _, fields in page)
            if len(page) < PAGE:
                return found
            start = f"({page[-1][0].decode()}"  # exclusive: after the last entry read

    async def keep(self, message_id: bytes) -> None:
        """Reset the entry's idle time: this worker is still on it."""
        await self._redis.xclaim(JOBS_KEY, GROUP, self._consumer, 0, [message_id], justid=True)

    async def done(self, message_id: bytes) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(JOBS_KEY, GROUP, message_id)
            pipe.xdel(JOBS_KEY, message_id)
            await pipe.execute()


def _job(message_id: bytes, fields: dict) -> ExportJob | None:
    try:
        return ExportJob.parse(fields[b"job"])
    except (KeyError, ValueError, TypeError):
        log.error("malformed export job dropped", extra={"id": message_id})
        return None


class Exports(Protocol):
    async def run(self, job: ExportJob) -> bool: ...


class ExportRunner:
    """Takes export jobs until stopped, one at a time per process."""

    def __init__(self, queue: ExportQueue, exporter: Exports) -> None:
        self._queue = queue
        self._exporter = exporter
        self.stopping = asyncio.Event()

    async def run(self) -> None:
        await run_until_stopped(self.stopping, self._queue.ensure_group, self.run_once, "export")

    async def run_once(self) -> bool:
        """One job if there is one; True when one was finished and acknowledged."""
        taken = await self._queue.take()
        if taken is None:
            return False
        message_id, job = taken
        if job is not None and not await self._do(message_id, job):
            return False
        await self._queue.done(message_id)
        return True

    async def _do(self, message_id: bytes, job: ExportJob) -> bool:
        try:
            async with kept_claimed(
                lambda: self._queue.keep(message_id), self._queue.claim_idle_s / 3, "export"
            ):
                await self._exporter.run(job)
            return True
        except ServiceError as exc:  # the database unreachable: left pending, taken over later
            log.warning("export interrupted", extra={"job": job.member, "error": exc.message})
            return False
        except Exception:  # a bug: logged, left pending (retried after claim_idle_s), the loop goes on
            log.exception("export failed unexpectedly", extra={"job": job.member})
            return False
