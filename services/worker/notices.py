"""What the worker tells the tenancy service, which owns mail and the audit log: retention notices to mail
to a tenant's owners and admins (`NotifyRetention`; the worker has no SMTP of its own) and exports to
audit (`RecordExport`). Both called as the service `worker` with a token scoped to the tenant, so tenancy
takes the tenant from the verified token, never from the request."""

from __future__ import annotations

import uuid

import grpc

from services.runtime.channels import CallerIdentity, translate_rpc_error
from services.runtime.tokens import service_principal
from services.worker.directory import TenantRetention
from services.worker.retention_storage import Notice
from sfcloud.v1 import tenancy_pb2, tenancy_pb2_grpc

MAIL_DEADLINE_S = 30.0  # tenancy talks to an SMTP server (10 s per message) for each owner and admin


class TenancyNotifier:
    def __init__(self, stub: tenancy_pb2_grpc.TenancyServiceStub, identity: CallerIdentity) -> None:
        self._stub = stub
        self._identity = identity

    async def notify(self, tenant: TenantRetention, notice: Notice) -> None:
        """Raises ServiceError (Unavailable when tenancy or its mail server is down)."""
        request = tenancy_pb2.NotifyRetentionRequest(
            notice_ns=notice.notice_ns,
            deletes_before_ns=notice.deletes_before_ns,
            oldest_end_ns=notice.oldest_end_ns,
            retention_days=notice.retention_days,
            effective_ns=notice.effective_ns,
        )
        try:
            await self._stub.NotifyRetention(
                request,
                metadata=self._identity.metadata(service_principal("worker", tenant.tenant_id)),
                timeout=MAIL_DEADLINE_S,
            )
        except grpc.aio.AioRpcError as exc:
            raise translate_rpc_error(exc) from None


class TenancyExportAudit:
    def __init__(self, stub: tenancy_pb2_grpc.TenancyServiceStub, identity: CallerIdentity) -> None:
        self._stub = stub
        self._identity = identity

    async def record(self, tenant_id: uuid.UUID, export_id: uuid.UUID, requested_by: str) -> None:
        """Raises ServiceError (Unavailable when tenancy is down: the export is then not started)."""
        request = tenancy_pb2.RecordExportRequest(export_id=str(export_id), requested_by=requested_by)
        await self._identity.call(self._stub.RecordExport, request, service_principal("worker", tenant_id))
