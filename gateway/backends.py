"""The gateway's gRPC clients to the services, each call with a deadline and the caller's token.

Errors from a service arrive here as gRPC statuses and leave as the shared
`ServiceError` tree, which the GraphQL layer turns into error codes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc
from grpc_health.v1 import health_pb2_grpc

from services.runtime.channels import CallerIdentity, open_channel
from services.runtime.principal import Principal
from services.runtime.tokens import TokenSigner
from sfcloud.v1 import (
    alarms_pb2_grpc,
    anomaly_pb2_grpc,
    directory_pb2_grpc,
    export_pb2_grpc,
    level_pb2_grpc,
    production_pb2_grpc,
    programme_pb2_grpc,
    query_pb2_grpc,
    reports_pb2_grpc,
    sharing_pb2_grpc,
    tenancy_pb2_grpc,
    tickets_pb2_grpc,
)

R = TypeVar("R")


class Backends:
    """Channels and stubs to tenancy, analytics and the worker (exports), opened once per gateway process.

    ``open`` runs inside the server's event loop (grpc.aio binds a channel to the loop it is made in).
    """

    def __init__(
        self, tenancy_target: str, analytics_target: str, worker_target: str, signing_key: str
    ) -> None:
        self._targets = (tenancy_target, analytics_target, worker_target)
        self._channels: list[grpc.aio.Channel] = []
        self._identity = CallerIdentity(TokenSigner(signing_key))

    def open(self) -> None:
        self._channels = [open_channel(target) for target in self._targets]
        self.tenancy = tenancy_pb2_grpc.TenancyServiceStub(self._channels[0])
        self.alarms = alarms_pb2_grpc.AlarmServiceStub(self._channels[0])  # served by tenancy
        self.directory = directory_pb2_grpc.DirectoryServiceStub(self._channels[0])  # served by tenancy
        self.tickets = tickets_pb2_grpc.TicketServiceStub(self._channels[0])  # served by tenancy
        self.sharing = sharing_pb2_grpc.SharingServiceStub(self._channels[0])  # served by tenancy
        self.programme = programme_pb2_grpc.ProgrammeServiceStub(self._channels[0])  # served by tenancy
        self.query = query_pb2_grpc.QueryServiceStub(self._channels[1])
        self.production = production_pb2_grpc.ProductionServiceStub(self._channels[1])  # analytics hosts it
        self.level = level_pb2_grpc.LevelServiceStub(self._channels[1])  # analytics hosts it
        self.anomaly = anomaly_pb2_grpc.AnomalyServiceStub(self._channels[1])  # analytics hosts it
        self.reports = reports_pb2_grpc.ReportServiceStub(self._channels[1])  # analytics hosts it
        self.shared_query = sharing_pb2_grpc.SharedQueryServiceStub(self._channels[1])  # analytics hosts it
        self.tenancy_health = health_pb2_grpc.HealthStub(self._channels[0])
        self.query_health = health_pb2_grpc.HealthStub(self._channels[1])
        self.exports = export_pb2_grpc.ExportServiceStub(self._channels[2])

    async def call(self, method: Callable[..., Awaitable[R]], request: object, principal: Principal) -> R:
        return await self._identity.call(method, request, principal)

    async def close(self) -> None:
        for channel in self._channels:
            await channel.close()
