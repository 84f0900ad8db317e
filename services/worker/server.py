"""Composition root of the worker: pools per cell, Redis, the compaction loop, health, shutdown.

The worker has no API of its own: its gRPC server carries only the health service (readiness turns
NOT_SERVING while PostgreSQL or Redis is unreachable), so `sf up` and orchestrators probe it as any other.
"""

from __future__ import annotations

import asyncio
import contextlib

import redis.asyncio as aioredis

from services.runtime.cells import CellDatabases
from services.runtime.process import ServiceCore
from services.runtime.tokens import TokenAuthenticator, TokenSigner
from services.worker.config import WorkerSettings
from services.worker.jobs import CompactionRunner, JobQueue
from services.worker.service import CompactionService

SERVICE_NAME = "sfcloud.worker"  # the health entry's name; there is no worker API


class WorkerServer:
    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings
        self.redis = aioredis.Redis.from_url(settings.redis_url)
        authenticator = TokenAuthenticator(TokenSigner(settings.service.signing_key))
        self.core = ServiceCore(settings.service, SERVICE_NAME, authenticator, [self.redis.ping])
        self.cells = CellDatabases(self.core.db, settings.service.cells, "sf-worker")
        self.core.grpc.add_readiness_check(self.cells.check)
        queue = JobQueue(self.redis, settings.consumer, settings.claim_idle_s, settings.poll_s)
        self.runner = CompactionRunner(queue, CompactionService(self.cells, settings.target_points))
        self._task: asyncio.Task | None = None

    async def start(self) -> int:
        await self.core.open()
        await self.cells.open_extra()
        self._task = asyncio.create_task(self.runner.run())
        return await self.core.serve()

    async def stop(self) -> None:
        """The job in hand finishes (within the grace period); the rest stay queued for other workers."""
        self.runner.stopping.set()
        await self.core.stop()
        if self._task:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._task, self.settings.service.shutdown_grace_s)
        await self.redis.aclose()
        await self.cells.close_extra()
        await self.core.close()
