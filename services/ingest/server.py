"""Composition root of the ingest service: pool, Redis, tenancy client, servicer, health, drain."""

from __future__ import annotations

import asyncio
import logging

import redis.asyncio as aioredis

from services.ingest.catalog import DeviceAuthenticator, TenancyCatalog
from services.ingest.config import IngestSettings
from services.ingest.handlers import IngestHandlers
from services.ingest.live import LivePublisher
from services.ingest.service import IngestService
from services.runtime.channels import CallerIdentity, open_channel
from services.runtime.db import Database
from services.runtime.grpc_server import GrpcServer
from services.runtime.tokens import TokenSigner
from sfcloud.v1 import ingest_pb2, ingest_pb2_grpc, tenancy_pb2_grpc

log = logging.getLogger(__name__)
SERVICE_NAME = ingest_pb2.DESCRIPTOR.services_by_name["IngestService"].full_name


class IngestServer:
    def __init__(self, settings: IngestSettings) -> None:
        self.settings = settings
        self.db = Database(settings.service.database_url, name="sf-ingest")
        self.redis = aioredis.Redis.from_url(settings.redis_url)
        self.tenancy_channel = open_channel(settings.tenancy_target)
        self.draining = asyncio.Event()
        catalog = TenancyCatalog(
            tenancy_pb2_grpc.TenancyServiceStub(self.tenancy_channel),
            CallerIdentity(TokenSigner(settings.service.signing_key)),
        )
        self.grpc = GrpcServer(
            service_names=[SERVICE_NAME],
            authenticator=DeviceAuthenticator(catalog),
            readiness_checks=[self.db.check, self.redis.ping],
            reflection_enabled=settings.service.reflection,
        )
        service = IngestService(self.db, catalog, LivePublisher(self.redis))
        ingest_pb2_grpc.add_IngestServiceServicer_to_server(
            IngestHandlers(service, self.draining), self.grpc.server
        )

    async def start(self) -> int:
        await self.db.open()
        port = await self.grpc.start(self.settings.service.listen)
        log.info("ingest serving", extra={"port": port})
        return port

    async def stop(self) -> None:
        """Streams finish the batch in hand, then end with UNAVAILABLE so devices reconnect."""
        self.draining.set()
        await self.grpc.stop(self.settings.service.shutdown_grace_s)
        await self.tenancy_channel.close()
        await self.redis.aclose()
        await self.db.close()
