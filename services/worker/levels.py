"""Every tenant's smart-factory level, assessed once a day by the worker, so the level history has a row
for every day and not only for the days someone looked (docs/ANALYTICS.md, "Smart-factory level").

The assessment itself is analytics' (``LevelService.Assess``, called as the service ``worker`` scoped to the
tenant and its cell): the worker only makes sure it is asked. Run by ``schedule.SpacedPasses``, one worker
a day. A tenant whose assessment fails (its cell down) is logged and skipped; the rest are assessed.
"""

from __future__ import annotations

import dataclasses
import logging

from services.runtime.channels import CallerIdentity
from services.runtime.errors import ServiceError
from services.runtime.tokens import service_principal
from services.worker.directory import TenancyDirectory
from sfcloud.v1 import level_pb2, level_pb2_grpc

log = logging.getLogger(__name__)


class LevelAssessor:
    def __init__(
        self, directory: TenancyDirectory, stub: level_pb2_grpc.LevelServiceStub, identity: CallerIdentity
    ) -> None:
        self._directory = directory
        self._stub = stub
        self._identity = identity

    async def run_pass(self, now_ns: int | None = None) -> int:
        """Assess every tenant (analytics' clock decides the day, so ``now_ns`` is not used); how many."""
        assessed = 0
        for tenant in await self._directory.tenants():
            caller = dataclasses.replace(service_principal("worker", tenant.tenant_id), cell=tenant.cell)
            try:
                await self._identity.call(self._stub.Assess, level_pb2.AssessRequest(), caller)
                assessed += 1
            except ServiceError as exc:
                log.warning(
                    "level assessment failed", extra={"tenant": str(tenant.tenant_id), "error": repr(exc)}
                )
        return assessed
