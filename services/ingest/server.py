"""Composition root of the ingest service: pool, Redis, tenancy client, admission, servicer, health, drain."""

from __future__ import annotations

import asyncio

from services.ingest.admission import Admission
from services.ingest.catalog import DeviceAuthenticator, TenancyCatalog
from services.ingest.config import IngestSettings
from services.ingest.handlers import IngestHandlers
from services.ingest.limits import PointRate
from services.ingest.live import LivePublisher
from services.ingest.service import IngestService
from services.ingest.tenant_streams import TenantStreams
from services.ingest.usage import UsageReporter
from services.runtime.cells import CellDatabases
from services.runtime.channels import CallerIdentity, open_channel
from services.runtime.compaction import CompactionNotices
from services.runtime.process import ServiceCore
from services.runtime.redis_pool import redis_client
from services.runtime.registration import add_service
from services.runtime.tokens import TokenSigner
from sfcloud.v1 import ingest_pb2, tenancy_pb2_grpc

SERVICE = ingest_pb2.DESCRIPTOR.services_by_name["IngestService"]
SERVICE_NAME = SERVICE.full_name


class IngestServer:
    def __init__(self, settings: IngestSettings) -> None:
        self.redis = redis_client(settings.redis_url, settings.redis_timeout_s)
        self.tenancy_channel = open_channel(settings.tenancy_target)
        self.draining = asyncio.Event()
        tenancy = tenancy_pb2_grpc.TenancyServiceStub(self.tenancy_channel)
        identity = CallerIdentity(TokenSigner(settings.service.signing_key))
        catalog = TenancyCatalog(tenancy, identity)
        self.core = ServiceCore(
            settings.service, SERVICE_NAME, DeviceAuthenticator(catalog), [self.redis.ping]
        )
        self.cells = CellDatabases(self.core.db, settings.service.cells, "sf-ingest")
        self.core.grpc.add_readiness_check(self.cells.check)
        self.usage = UsageReporter(self.cells, tenancy, identity, settings.usage_interval_s)
        self._usage_task: asyncio.Task | None = None
        self.admission = Admission(settings.max_inflight_bytes, settings.admission_wait_s)
        service = IngestService(
            self.cells,
            catalog,
            LivePublisher(self.redis),
            self.usage,
            PointRate(self.redis),
            self.admission,
            CompactionNotices(self.redis, settings.compaction_grace_s),
        )
        self.streams = TenantStreams(settings.streams_per_tenant, settings.stream_idle_s)
        handlers = IngestHandlers(service, self.draining, self.streams, settings.stream_idle_s)
        add_service(handlers, self.core.grpc.server, SERVICE, raw_requests={"Ingest"})  # handlers.py parses

    async def start(self) -> int:
        await self.core.open()
        await self.cells.open_extra()
        self._usage_task = asyncio.create_task(self.usage.run())
        return await self.core.serve()

    async def stop(self) -> None:
        """Streams finish the batch in hand, then end with UNAVAILABLE so devices reconnect."""
        self.draining.set()
        await self.core.stop()
        if self._usage_task:
            self._usage_task.cancel()
        await self.usage.flush()
        await self.tenancy_channel.close()
        await self.redis.aclose()
        await self.cells.close_extra()
        await self.core.close()
