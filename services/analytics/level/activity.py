"""What a tenant does in the control plane, asked of tenancy (analytics never reads its tables): its
enabled alarm rules and the API calls the gateway metered; and the day's level, told to tenancy for the
supplier directory's track record. Calls go as the service ``analytics`` scoped to the caller's tenant,
so tenancy answers (and records) for that tenant only."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from services.runtime.channels import CallerIdentity
from services.runtime.principal import Principal
from services.runtime.tokens import service_principal
from sfcloud.v1 import (
    alarms_pb2,
    alarms_pb2_grpc,
    directory_pb2,
    directory_pb2_grpc,
    tenancy_pb2,
    tenancy_pb2_grpc,
)


class ControlPlaneActivity:
    def __init__(
        self,
        tenancy: tenancy_pb2_grpc.TenancyServiceStub,
        alarms: alarms_pb2_grpc.AlarmServiceStub,
        directory: directory_pb2_grpc.DirectoryServiceStub,
        identity: CallerIdentity,
    ) -> None:
        self._tenancy = tenancy
        self._alarms = alarms
        self._directory = directory
        self._identity = identity

    async def alarm_rules(self, tenant_id: uuid.UUID) -> tuple[int, int]:
        """(enabled rules, all rules) of the tenant."""
        response = await self._identity.call(
            self._alarms.ListAlarmRules,
            alarms_pb2.ListAlarmRulesRequest(),
            service_principal("analytics", tenant_id),
        )
        return sum(1 for r in response.rules if r.spec.enabled), len(response.rules)

    async def alarms(self, caller: Principal) -> list[alarms_pb2.Alarm]:
        """The newest alarms the caller may read, at most 500 (as ListAlarms answers), newest first. Asked
        as the caller itself: reading alarms is a person's or a read key's right, not a service's."""
        response = await self._identity.call(
            self._alarms.ListAlarms, alarms_pb2.ListAlarmsRequest(limit=500), caller
        )
        return list(response.alarms)

    async def api_calls(self, tenant_id: uuid.UUID, today: date, days: int) -> int:
        """GraphQL calls (web app and API keys) the gateway metered over the ``days`` UTC days to today."""
        request = tenancy_pb2.GetUsageRequest(
            first_day=(today - timedelta(days=days - 1)).isoformat(), last_day=today.isoformat()
        )
        response = await self._identity.call(
            self._tenancy.GetUsage, request, service_principal("analytics", tenant_id)
        )
        return sum(d.api_calls for d in response.days)

    async def record_level(self, tenant_id: uuid.UUID, day: date, level: int) -> None:
        """The day's level, as tenancy keeps it for the directory (the day's last assessment wins)."""
        request = directory_pb2.RecordLevelRequest(day=day.isoformat(), level=level)
        await self._identity.call(
            self._directory.RecordLevel, request, service_principal("analytics", tenant_id)
        )
