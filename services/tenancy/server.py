"""Composition root of the tenancy service: pool, catalog, servicer, health, shutdown."""

from __future__ import annotations

import logging

from services.runtime.db import Database
from services.runtime.grpc_server import GrpcServer
from services.runtime.tokens import TokenAuthenticator, TokenSigner
from services.tenancy import catalog, provisioning
from services.tenancy.config import TenancySettings
from services.tenancy.credentials import PasswordChecker
from services.tenancy.handlers import TenancyHandlers
from services.tenancy.service import TenancyService
from sfcloud.v1 import tenancy_pb2, tenancy_pb2_grpc

log = logging.getLogger(__name__)
SERVICE_NAME = tenancy_pb2.DESCRIPTOR.services_by_name["TenancyService"].full_name


class TenancyServer:
    """Everything the tenancy process runs, built from settings; ``start`` then ``stop``."""

    def __init__(self, settings: TenancySettings) -> None:
        self.settings = settings
        self.db = Database(settings.service.database_url, name="sf-tenancy")
        self.passwords = PasswordChecker()
        self.grpc = GrpcServer(
            service_names=[SERVICE_NAME],
            authenticator=TokenAuthenticator(TokenSigner(settings.service.signing_key)),
            readiness_checks=[self.db.check],
            reflection_enabled=settings.service.reflection,
        )
        service = TenancyService(self.db, self.passwords)
        tenancy_pb2_grpc.add_TenancyServiceServicer_to_server(TenancyHandlers(service), self.grpc.server)

    async def start(self) -> int:
        await self.db.open()
        await self._load_catalog()
        port = await self.grpc.start(self.settings.service.listen)
        log.info("tenancy serving", extra={"port": port})
        return port

    async def stop(self) -> None:
        await self.grpc.stop(self.settings.service.shutdown_grace_s)
        await self.db.close()

    async def _load_catalog(self) -> None:
        folder = self.settings.catalog_dir
        plans = catalog.load_plans(folder)
        await provisioning.load_plans(self.db, plans)
        if self.settings.load_demo:
            manifest = catalog.load_manifest(folder / "demo" / "tenant.yaml", plans, folder)
            if await provisioning.provision(self.db, self.passwords, manifest):
                log.info("demo tenant created", extra={"tenant": manifest.data["tenant"]["slug"]})
