"""Composition root of the analytics service: pool, servicer, health, shutdown."""

from __future__ import annotations

from services.analytics.config import AnalyticsSettings
from services.analytics.handlers import QueryHandlers
from services.analytics.service import QueryService
from services.runtime.cells import CellDatabases
from services.runtime.process import ServiceCore
from services.runtime.tokens import TokenAuthenticator, TokenSigner
from sfcloud.v1 import query_pb2, query_pb2_grpc

SERVICE_NAME = query_pb2.DESCRIPTOR.services_by_name["QueryService"].full_name


class AnalyticsServer:
    def __init__(self, settings: AnalyticsSettings) -> None:
        authenticator = TokenAuthenticator(TokenSigner(settings.service.signing_key))
        self.core = ServiceCore(settings.service, SERVICE_NAME, authenticator)
        self.cells = CellDatabases(self.core.db, settings.service.cells, "sf-analytics")
        self.core.grpc.add_readiness_check(self.cells.check)
        handlers = QueryHandlers(QueryService(self.cells))
        query_pb2_grpc.add_QueryServiceServicer_to_server(handlers, self.core.grpc.server)

    async def start(self) -> int:
        await self.core.open()
        await self.cells.open_extra()
        return await self.core.serve()

    async def stop(self) -> None:
        await self.core.stop()
        await self.cells.close_extra()
        await self.core.close()
