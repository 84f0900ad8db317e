"""What every gRPC service process is made of: its database pool and its gRPC server.

A service's `server.py` builds one `ServiceCore`, registers its servicer on
``core.grpc.server`` and adds its own start and stop steps around these.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from services.runtime.boundary import Authenticator
from services.runtime.db import Database
from services.runtime.grpc_server import GrpcServer, ReadinessCheck
from services.runtime.settings import ServiceSettings

log = logging.getLogger(__name__)


class ServiceCore:
    def __init__(
        self,
        settings: ServiceSettings,
        service_name: str,
        authenticator: Authenticator,
        extra_checks: Sequence[ReadinessCheck] = (),
        also_serves: Sequence[str] = (),
    ) -> None:
        self.settings = settings
        self.db = Database(settings.database_url, name=f"sf-{settings.name}")
        self.grpc = GrpcServer(
            service_names=[service_name, *also_serves],
            authenticator=authenticator,
            readiness_checks=[self.db.check, *extra_checks],
            reflection_enabled=settings.reflection,
        )

    async def open(self) -> None:
        await self.db.open()

    async def serve(self) -> int:
        port = await self.grpc.start(self.settings.listen)
        log.info("serving", extra={"service": self.settings.name, "port": port})
        return port

    async def stop(self) -> None:
        """Not serving at once; in-flight calls get the grace period."""
        await self.grpc.stop(self.settings.shutdown_grace_s)

    async def close(self) -> None:
        await self.db.close()
