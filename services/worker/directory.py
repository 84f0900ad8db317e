"""The tenants retention works on, asked of the tenancy service over gRPC as the service `worker`.

The worker never reads tenancy's tables: it pages through `ListTenants` with its own service identity
(tenancy lets the service `worker` list every tenant, as it lets the platform operator). A tenant's
record names its plan and its cell; the plan's `retention_days` comes from the tenant catalog
(`tenants/plans.yaml`), the same file tenancy loads its plans from.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import grpc

from services.runtime.channels import DEFAULT_DEADLINE_S, CallerIdentity, translate_rpc_error
from services.runtime.tokens import service_principal
from sfcloud.v1 import tenancy_pb2, tenancy_pb2_grpc

WORKER = service_principal("worker")


@dataclass(frozen=True)
class TenantRetention:
    tenant_id: uuid.UUID
    cell: str
    plan_code: str
    retention_days: int | None  # None: the plan is unknown here, so nothing of the tenant is deleted


class TenancyDirectory:
    def __init__(
        self,
        stub: tenancy_pb2_grpc.TenancyServiceStub,
        identity: CallerIdentity,
        retention_days: Mapping[str, int],
    ) -> None:
        self._stub = stub
        self._identity = identity
        self._days = dict(retention_days)

    async def tenants(self) -> list[TenantRetention]:
        """Every tenant with its plan's retention, all pages."""
        found: list[TenantRetention] = []
        token = ""
        while True:
            page = await self._page(token)
            found += [self._retention(t) for t in page.tenants]
            token = page.next_page_token
            if not token:
                return found

    async def _page(self, token: str) -> tenancy_pb2.ListTenantsResponse:
        try:
            return await self._stub.ListTenants(
                tenancy_pb2.ListTenantsRequest(page_size=200, page_token=token),
                metadata=self._identity.metadata(WORKER),
                timeout=DEFAULT_DEADLINE_S,
            )
        except grpc.aio.AioRpcError as exc:
            raise translate_rpc_error(exc) from None

    def _retention(self, tenant: tenancy_pb2.Tenant) -> TenantRetention:
        return TenantRetention(
            uuid.UUID(tenant.id), tenant.cell or "default", tenant.plan_code, self._days.get(tenant.plan_code)
        )
