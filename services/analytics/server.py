"""Composition root of the analytics service: pool, servicer, health, shutdown."""

from __future__ import annotations

import logging

from services.analytics.config import AnalyticsSettings
from services.analytics.handlers import QueryHandlers
from services.analytics.service import QueryService
from services.runtime.db import Database
from services.runtime.grpc_server import GrpcServer
from services.runtime.tokens import TokenAuthenticator, TokenSigner
from sfcloud.v1 import query_pb2, query_pb2_grpc

log = logging.getLogger(__name__)
SERVICE_NAME = query_pb2.DESCRIPTOR.services_by_name["QueryService"].full_name


class AnalyticsServer:
    def __init__(self, settings: AnalyticsSettings) -> None:
        self.settings = settings
        self.db = Database(settings.service.database_url, name="sf-analytics")
        self.grpc = GrpcServer(
            service_names=[SERVICE_NAME],
            authenticator=TokenAuthenticator(TokenSigner(settings.service.signing_key)),
            readiness_checks=[self.db.check],
            reflection_enabled=settings.service.reflection,
        )
        query_pb2_grpc.add_QueryServiceServicer_to_server(
            QueryHandlers(QueryService(self.db)), self.grpc.server
        )

    async def start(self) -> int:
        await self.db.open()
        port = await self.grpc.start(self.settings.service.listen)
        log.info("analytics serving", extra={"port": port})
        return port

    async def stop(self) -> None:
        await self.grpc.stop(self.settings.service.shutdown_grace_s)
        await self.db.close()
