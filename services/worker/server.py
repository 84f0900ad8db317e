"""Composition root of the worker: pools per cell, Redis, the compaction loop, the export loop and its API
(ExportService), the sweeps that put back from PostgreSQL what Redis lost of both queues, the retention
schedule (with a channel to tenancy: the tenants, their asset trees, and the
mail of retention notices), alarm evaluation and notifications (docs/ANALYTICS.md, "Alarms"), anomaly scoring, the daily level
assessments, health,
shutdown.

Its gRPC server carries ExportService and the health service (readiness turns NOT_SERVING while
PostgreSQL or Redis is unreachable), so `sf up` and orchestrators probe it as any other.
"""

from __future__ import annotations

import asyncio
import contextlib

import httpx

from services.analytics.service import QueryService
from services.runtime.cells import CellDatabases
from services.runtime.channels import CallerIdentity, open_channel
from services.runtime.process import ServiceCore
from services.runtime.redis_pool import redis_client
from services.runtime.series import SeriesDirectory
from services.runtime.tokens import TokenAuthenticator, TokenSigner
from services.tenancy.catalog import load_plans
from services.worker.alarm_client import AlarmClient
from services.worker.alarm_notify import Backoff, Notifier
from services.worker.alarm_reporter import AlarmReporter
from services.worker.alarm_watch import AlarmWatch, WatchSettings
from services.worker.anomaly_watch import AnomalyWatch
from services.worker.catalog import TenancyCatalog
from services.worker.compaction_sweep import CompactionSweep, Window
from services.worker.config import WorkerSettings
from services.worker.directory import TenancyDirectory
from services.worker.export_queue import ExportQueue, ExportRunner
from services.worker.export_sweep import ExportSweep
from services.worker.exporter import Exporter, lease_for
from services.worker.exports import ExportsApi
from services.worker.grant_checks import TenancyGrantChecks
from services.worker.grant_exporter import GrantPackages
from services.worker.handlers import ExportHandlers
from services.worker.jobs import CompactionRunner, JobQueue
from services.worker.levels import LevelAssessor
from services.worker.notices import TenancyExportAudit, TenancyNotifier
from services.worker.retention import RetentionService
from services.worker.schedule import (
    COMPACTION_SWEEP_LOCK,
    EXPORT_SWEEP_LOCK,
    LEVELS_LOCK,
    RETENTION_LOCK,
    SpacedPasses,
)
from services.worker.service import CompactionService
from sfcloud.v1 import (
    alarms_pb2_grpc,
    export_pb2,
    export_pb2_grpc,
    level_pb2_grpc,
    sharing_pb2_grpc,
    tenancy_pb2_grpc,
)

SERVICE_NAME = export_pb2.DESCRIPTOR.services_by_name["ExportService"].full_name


class WorkerServer:
    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings
        self.redis = redis_client(settings.redis_url)
        authenticator = TokenAuthenticator(TokenSigner(settings.service.signing_key))
        self.core = ServiceCore(settings.service, SERVICE_NAME, authenticator, [self.redis.ping])
        self.cells = CellDatabases(self.core.db, settings.service.cells, "sf-worker")
        self.core.grpc.add_readiness_check(self.cells.check)
        queue = JobQueue(self.redis, settings.consumer, settings.claim_idle_s, settings.poll_s)
        self.runner = CompactionRunner(queue, CompactionService(self.cells, settings.target_points))
        self.tenancy_channel = open_channel(settings.tenancy_target)
        self.export_queue = ExportQueue(self.redis, settings.consumer, settings.claim_idle_s, settings.poll_s)
        self.exports = self._exports(TokenSigner(settings.service.signing_key))
        self.retention = self._retention(TokenSigner(settings.service.signing_key))
        self.http = httpx.AsyncClient(follow_redirects=False)
        identity = CallerIdentity(TokenSigner(settings.service.signing_key))
        self.alarm_client = AlarmClient(alarms_pb2_grpc.AlarmServiceStub(self.tenancy_channel), identity)
        backoff = Backoff(settings.alarm_retry_base_s, settings.alarm_attempts)
        self.notifier = Notifier(self.alarm_client, self.http, backoff, settings.alarm_private_webhooks)
        self.directory = TenancyDirectory(
            tenancy_pb2_grpc.TenancyServiceStub(self.tenancy_channel), identity, {}
        )
        self.alarms = self._alarms()
        self.anomalies = self._anomalies()
        self.analytics_channel = open_channel(settings.analytics_target)
        self.levels = self._levels(identity)
        self.sweeps = self._sweeps()
        self._tasks: list[asyncio.Task] = []

    def _sweeps(self) -> list[SpacedPasses]:
        """What puts back the queue entries Redis lost, from PostgreSQL (RELIABILITY D6)."""
        settings, sweeps = self.settings, []
        if settings.export_sweep_s:
            sweep = ExportSweep(self.cells, self.export_queue)
            sweeps.append(
                SpacedPasses(self.redis, EXPORT_SWEEP_LOCK, sweep, settings.export_sweep_s, settings.consumer)
            )
        if settings.compaction and settings.compaction_sweep_s:
            window = Window(settings.compaction_sweep_hours, settings.compaction_sweep_after_s)
            sweep = CompactionSweep(self.redis, self.cells, self.directory, settings.target_points, window)
            sweeps.append(
                SpacedPasses(
                    self.redis, COMPACTION_SWEEP_LOCK, sweep, settings.compaction_sweep_s, settings.consumer
                )
            )
        return sweeps

    def _levels(self, identity: CallerIdentity) -> SpacedPasses | None:
        if not self.settings.level_interval_s:
            return None
        assessor = LevelAssessor(
            self.directory, level_pb2_grpc.LevelServiceStub(self.analytics_channel), identity
        )
        return SpacedPasses(
            self.redis, LEVELS_LOCK, assessor, self.settings.level_interval_s, self.settings.consumer
        )

    def _anomalies(self) -> AnomalyWatch | None:
        if not self.settings.anomaly_interval_s:
            return None
        reporter = AlarmReporter(self.redis, self.alarm_client, self.notifier)
        return AnomalyWatch(
            self.redis,
            self.cells,
            self.directory,
            reporter,
            self.settings.anomaly_interval_s,
            self.settings.consumer,
        )

    def _alarms(self) -> AlarmWatch | None:
        if not self.settings.alarm_interval_s:
            return None
        watch = WatchSettings(
            self.settings.alarm_tick_s,
            self.settings.alarm_interval_s,
            abandoned_s=self.settings.alarm_abandoned_s,
        )
        return AlarmWatch(
            self.redis,
            self.cells,
            self.directory,
            self.alarm_client,
            self.notifier,
            watch,
            self.settings.consumer,
        )

    def _exports(self, signer: TokenSigner) -> ExportRunner:
        settings = self.settings
        queue = self.export_queue
        stub, identity = tenancy_pb2_grpc.TenancyServiceStub(self.tenancy_channel), CallerIdentity(signer)
        grants = TenancyGrantChecks(sharing_pb2_grpc.SharingServiceStub(self.tenancy_channel), identity)
        api = ExportsApi(self.cells, queue, settings.export_dir, TenancyExportAudit(stub, identity), grants)
        export_pb2_grpc.add_ExportServiceServicer_to_server(ExportHandlers(api), self.core.grpc.server)
        catalog = TenancyCatalog(stub, identity)
        # a grant's data is read by the code that answers the grantee's shared queries (services/analytics)
        reads = QueryService(self.cells, SeriesDirectory(stub, identity, "worker"))
        packages = GrantPackages(grants, reads)
        exporter = Exporter(
            self.cells, catalog, packages, settings.export_dir, lease_for(settings.claim_idle_s)
        )
        return ExportRunner(queue, exporter)

    def _retention(self, signer: TokenSigner) -> SpacedPasses | None:
        if not self.settings.retention_interval_s:
            return None
        days = {
            code: plan.quotas["retention_days"]
            for code, plan in load_plans(self.settings.catalog_dir).items()
        }
        stub = tenancy_pb2_grpc.TenancyServiceStub(self.tenancy_channel)
        identity = CallerIdentity(signer)
        directory = TenancyDirectory(stub, identity, days)
        service = RetentionService(self.cells, directory, TenancyNotifier(stub, identity))
        return SpacedPasses(
            self.redis, RETENTION_LOCK, service, self.settings.retention_interval_s, self.settings.consumer
        )

    async def start(self) -> int:
        await self.core.open()
        await self.cells.open_extra()
        if self.settings.compaction:
            self._tasks.append(asyncio.create_task(self.runner.run()))
        self._tasks.append(asyncio.create_task(self.exports.run()))
        if self.retention:
            self._tasks.append(asyncio.create_task(self.retention.run()))
        if self.alarms:
            self._tasks.append(asyncio.create_task(self.alarms.run()))
        if self.anomalies:
            self._tasks.append(asyncio.create_task(self.anomalies.run()))
        if self.levels:
            self._tasks.append(asyncio.create_task(self.levels.run()))
        self._tasks += [asyncio.create_task(sweep.run()) for sweep in self.sweeps]
        return await self.core.serve()

    async def stop(self) -> None:
        """The job in hand finishes (within the grace period); the rest stay queued for other workers."""
        self.runner.stopping.set()
        self.exports.stopping.set()
        if self.retention:
            self.retention.stopping.set()
        if self.alarms:
            self.alarms.stopping.set()
        if self.anomalies:
            self.anomalies.stopping.set()
        if self.levels:
            self.levels.stopping.set()
        for sweep in self.sweeps:
            sweep.stopping.set()
        await self.core.stop()
        if self._tasks:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.gather(*self._tasks), self.settings.service.shutdown_grace_s)
        # notifications in their retries get the grace period too; the rest stay pending
        await self.notifier.drain(self.settings.service.shutdown_grace_s)
        await self.http.aclose()
        await self.tenancy_channel.close()
        await self.analytics_channel.close()
        await self.redis.aclose()
        await self.cells.close_extra()
        await self.core.close()
