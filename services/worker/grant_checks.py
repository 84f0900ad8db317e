"""The worker asks tenancy, which owns the grants, before every step of a grantee's export of a grant and
before every read it makes for one (docs/SHARING.md, "Exporting a grant"): as the service `worker`, with a
token scoped to the grantee (a tenant, or a supplier), naming the grantee's person or key who asked. Tenancy decides from the
grant and audits each decision for the grantor; nothing of a grant is kept here between calls, so a
revocation stops the very next step or read."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from services.runtime.channels import CallerIdentity
from services.runtime.tokens import service_principal
from sfcloud.v1 import common_pb2, sharing_pb2, sharing_pb2_grpc

REQUEST, WRITE, FINISH, DOWNLOAD = (
    sharing_pb2.GRANT_EXPORT_STAGE_REQUEST,
    sharing_pb2.GRANT_EXPORT_STAGE_WRITE,
    sharing_pb2.GRANT_EXPORT_STAGE_FINISH,
    sharing_pb2.GRANT_EXPORT_STAGE_DOWNLOAD,
)


@dataclass(frozen=True)
class Asking:
    """Who asks, for which export: the grantee (a tenant, or with ``supplier`` a supplier), its reader
    ("user:<id>" or "api_key:<id>") and where the call came from (the reader's address, or the export for
    the worker's own steps)."""

    grantee: uuid.UUID
    export_id: uuid.UUID
    reader: str
    origin: str
    supplier: bool = False


class TenancyGrantChecks:
    def __init__(self, stub: sharing_pb2_grpc.SharingServiceStub, identity: CallerIdentity) -> None:
        self._stub = stub
        self._identity = identity

    def _token(self, asking: Asking):
        if asking.supplier:
            return replace(service_principal("worker"), supplier_id=asking.grantee, origin=asking.origin)
        return replace(service_principal("worker", asking.grantee), origin=asking.origin)

    async def step(
        self, asking: Asking, grant_id: str, stage: int, rows: int = 0
    ) -> sharing_pb2.AuthorizeGrantExportResponse:
        """The grant's terms if it lets this step through; NotFound or PermissionDenied saying why not."""
        request = sharing_pb2.AuthorizeGrantExportRequest(
            grant_id=grant_id, export_id=str(asking.export_id), reader=asking.reader, stage=stage, rows=rows
        )
        return await self._identity.call(self._stub.AuthorizeGrantExport, request, self._token(asking))

    async def read(
        self, asking: Asking, grant_id: str, series_id: str, start_ns: int, end_ns: int, resolution_ns: int
    ) -> tuple[uuid.UUID, str]:
        """(the owner tenant, its cell) if the grant lets this read through, as for a grantee's query."""
        request = sharing_pb2.AuthorizeSharedReadRequest(
            grant_id=grant_id,
            series_id=series_id,
            range=common_pb2.TimeRange(start_ns=start_ns, end_ns=end_ns),
            resolution_ns=resolution_ns,
            reader=asking.reader,
        )
        answer = await self._identity.call(self._stub.AuthorizeSharedRead, request, self._token(asking))
        return uuid.UUID(answer.owner_tenant_id), answer.cell
