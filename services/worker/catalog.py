"""A tenant's asset tree and series, as an export writes them, asked of tenancy over gRPC as the service
`worker` with a token scoped to the tenant (tenancy takes the tenant from the token; the worker never
reads tenancy's tables)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import grpc

from services.runtime.channels import DEFAULT_DEADLINE_S, CallerIdentity, translate_rpc_error
from services.runtime.tokens import service_principal
from sfcloud.v1 import tenancy_pb2, tenancy_pb2_grpc

KINDS = {
    tenancy_pb2.ASSET_KIND_SITE: "site",
    tenancy_pb2.ASSET_KIND_AREA: "area",
    tenancy_pb2.ASSET_KIND_LINE: "line",
    tenancy_pb2.ASSET_KIND_MACHINE: "machine",
}


@dataclass(frozen=True)
class TenantTree:
    tenant_name: str
    assets: list[dict[str, Any]]  # parents before children, as assets.json holds them
    series: list[dict[str, Any]]


class TenancyCatalog:
    def __init__(self, stub: tenancy_pb2_grpc.TenancyServiceStub, identity: CallerIdentity) -> None:
        self._stub = stub
        self._identity = identity

    async def tree(self, tenant_id: uuid.UUID) -> TenantTree:
        metadata = self._identity.metadata(service_principal("worker", tenant_id))
        try:
            tenant = await self._stub.GetTenant(
                tenancy_pb2.GetTenantRequest(tenant_id=str(tenant_id)),
                metadata=metadata,
                timeout=DEFAULT_DEADLINE_S,
            )
            assets = await self._stub.ListAssets(
                tenancy_pb2.ListAssetsRequest(), metadata=metadata, timeout=DEFAULT_DEADLINE_S
            )
            series = await self._stub.ListSeries(
                tenancy_pb2.ListSeriesRequest(), metadata=metadata, timeout=DEFAULT_DEADLINE_S
            )
        except grpc.aio.AioRpcError as exc:
            raise translate_rpc_error(exc) from None
        return TenantTree(
            tenant.tenant.name, [asset_row(a) for a in assets.assets], [series_row(s) for s in series.series]
        )


def asset_row(a: tenancy_pb2.Asset) -> dict[str, Any]:
    machine = a.kind == tenancy_pb2.ASSET_KIND_MACHINE
    return {
        "id": a.id,
        "parent_id": a.parent_id or None,
        "kind": KINDS[a.kind],
        "name": a.name,
        "machine_type": (a.machine_type or None) if machine else None,
        "ideal_cycle_s": (a.ideal_cycle_s or None) if machine else None,
    }


def series_row(s: tenancy_pb2.Series) -> dict[str, Any]:
    return {
        "id": s.id,
        "machine_id": s.machine_id,
        "name": s.name,
        "unit": s.unit,
        "kind": s.kind,
        "decimals": s.decimals,
    }
