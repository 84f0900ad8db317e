"""What devices did, asked of analytics (tenancy never reads the telemetry tables on a tenant's cell).

A ticket's snapshot needs each device's last batch, newest point and ingest counts, the programme's
utilisation report what each device stored per day; analytics reads them on the tenant's cell. The call
goes as the service ``tenancy`` scoped to one tenant and its cell (the verified caller's, or the tenant the
operator's report is reading), so analytics answers for that tenant only."""

from __future__ import annotations

import uuid
from datetime import date

from services.runtime.channels import CallerIdentity
from services.runtime.principal import Kind, Principal
from services.tenancy.support_models import DeviceDiagnosis
from sfcloud.v1 import query_pb2, query_pb2_grpc


class AnalyticsDeviceTelemetry:
    def __init__(self, query: query_pb2_grpc.QueryServiceStub, identity: CallerIdentity) -> None:
        self._query = query
        self._identity = identity

    async def activity(self, tenant_id: uuid.UUID, cell: str) -> dict[str, DeviceDiagnosis]:
        """Each device's telemetry figures by device id (names and revocation are tenancy's, left empty)."""
        caller = Principal(Kind.SERVICE, "tenancy", tenant_id=tenant_id, cell=cell)
        response = await self._identity.call(
            self._query.DeviceActivity, query_pb2.DeviceActivityRequest(), caller
        )
        return {
            a.device_id: DeviceDiagnosis(
                a.device_id,
                "",
                False,
                last_batch_ns=a.last_batch_ns,
                last_point_ns=a.last_point_ns,
                stored_batches=a.stored_batches,
                refused_batches=a.refused_batches,
                points=a.points,
                conflicts=a.conflicts,
                last_refusal_reason=a.last_refusal_reason,
            )
            for a in response.devices
        }

    async def usage(
        self, tenant_id: uuid.UUID, cell: str, first: date, last: date
    ) -> list[tuple[str, date, int, int]]:
        """(device id, day, points, bytes) for each day from ``first`` to ``last`` a device stored data."""
        caller = Principal(Kind.SERVICE, "tenancy", tenant_id=tenant_id, cell=cell)
        request = query_pb2.DeviceUsageRequest(first_day=first.isoformat(), last_day=last.isoformat())
        response = await self._identity.call(self._query.DeviceUsage, request, caller)
        return [(d.device_id, date.fromisoformat(d.day), d.points, d.bytes) for d in response.days]
