"""SPC violations raise alarms: after storing a chart's violations, the newest of each series is reported
to tenancy's alarm hook (`ReportAlarmCondition`, kind SPC_VIOLATION), which raises every enabled SPC rule
on that series (docs/ANALYTICS.md, "Alarms").

Called as the service ``analytics`` scoped to the tenant. The hook is idempotent, so the newest violation
of the whole request is reported, stored now or before: a request repeated after a failed report (tenancy
down) raises the alarm then, although its events were stored the first time.
"""

from __future__ import annotations

import uuid

from services.runtime.channels import CallerIdentity
from services.runtime.tokens import service_principal
from sfcloud.v1 import alarms_pb2, alarms_pb2_grpc


class SpcAlarmReporter:
    def __init__(self, stub: alarms_pb2_grpc.AlarmServiceStub, identity: CallerIdentity) -> None:
        self._stub = stub
        self._identity = identity

    async def report(self, tenant_id: uuid.UUID, violations: list[tuple]) -> None:
        """``violations``: rows of (series, time, rule, value, chart, subgroup, centre, lower, upper)."""
        newest: dict[uuid.UUID, tuple] = {}
        for row in violations:
            if row[0] not in newest or row[1] > newest[row[0]][1]:
                newest[row[0]] = row
        caller = service_principal("analytics", tenant_id)
        for series, time_ns, rule, value, _chart, _size, centre, lower, upper in newest.values():
            request = alarms_pb2.ReportAlarmConditionRequest(
                series_id=str(series),
                kind=alarms_pb2.ALARM_RULE_KIND_SPC_VIOLATION,
                time_ns=time_ns,
                active=True,
                value=value,
                detail=f"Western Electric rule {rule}: {value:g} against centre {centre:g},"
                f" limits {lower:g} to {upper:g}",
            )
            await self._identity.call(self._stub.ReportAlarmCondition, request, caller)
