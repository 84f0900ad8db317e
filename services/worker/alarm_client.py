"""The worker's calls to tenancy's AlarmService, as the service `worker` with a token scoped to the tenant
(tenancy takes the tenant from the verified token): the tenant's rules, conditions that changed, the
outcome of deliveries, and email notifications (the worker has no SMTP of its own)."""

from __future__ import annotations

import uuid

from services.runtime.channels import CallerIdentity
from services.runtime.tokens import service_principal
from sfcloud.v1 import alarms_pb2 as pb
from sfcloud.v1 import alarms_pb2_grpc


class AlarmClient:
    def __init__(self, stub: alarms_pb2_grpc.AlarmServiceStub, identity: CallerIdentity) -> None:
        self._stub = stub
        self._identity = identity

    def _as(self, tenant_id: uuid.UUID):
        return service_principal("worker", tenant_id)

    async def rules(self, tenant_id: uuid.UUID) -> list[pb.AlarmRule]:
        answer = await self._identity.call(
            self._stub.ListAlarmRules, pb.ListAlarmRulesRequest(), self._as(tenant_id)
        )
        return list(answer.rules)

    async def report(
        self, tenant_id: uuid.UUID, request: pb.ReportAlarmConditionRequest
    ) -> list[pb.AlarmTransition]:
        answer = await self._identity.call(self._stub.ReportAlarmCondition, request, self._as(tenant_id))
        return list(answer.transitions)

    async def record(
        self, tenant_id: uuid.UUID, delivery_id: str, delivered: bool, attempts: int, error: str
    ) -> None:
        request = pb.RecordAlarmDeliveryRequest(
            delivery_id=delivery_id, delivered=delivered, attempts=attempts, error=error
        )
        await self._identity.call(self._stub.RecordAlarmDelivery, request, self._as(tenant_id))

    async def send_email(self, tenant_id: uuid.UUID, delivery_id: str) -> None:
        request = pb.SendAlarmEmailRequest(delivery_id=delivery_id)
        await self._identity.call(self._stub.SendAlarmEmail, request, self._as(tenant_id))

    async def claim_abandoned(self, tenant_id: uuid.UUID, older_than_s: int) -> list[pb.AlarmTransition]:
        request = pb.ClaimAbandonedAlarmDeliveriesRequest(older_than_s=older_than_s)
        answer = await self._identity.call(
            self._stub.ClaimAbandonedAlarmDeliveries, request, self._as(tenant_id)
        )
        return list(answer.transitions)
