"""The asset tree and series catalog of a tenant, asked of tenancy (analytics never reads its tables).

Calls go as the service ``analytics`` scoped to the caller's tenant, so tenancy answers with that
tenant's assets and series only: another tenant's asset is as unknown as one that never existed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from services.runtime.channels import CallerIdentity
from services.runtime.tokens import service_principal
from sfcloud.v1 import tenancy_pb2, tenancy_pb2_grpc


@dataclass(frozen=True)
class Asset:
    id: uuid.UUID
    parent_id: uuid.UUID | None
    kind: str  # "site", "area", "line", "machine"
    name: str
    ideal_cycle_s: float


@dataclass(frozen=True)
class SeriesInfo:
    id: uuid.UUID
    machine_id: uuid.UUID
    name: str
    kind: str


KINDS = {
    tenancy_pb2.ASSET_KIND_SITE: "site",
    tenancy_pb2.ASSET_KIND_AREA: "area",
    tenancy_pb2.ASSET_KIND_LINE: "line",
    tenancy_pb2.ASSET_KIND_MACHINE: "machine",
}


class AssetDirectory:
    def __init__(self, stub: tenancy_pb2_grpc.TenancyServiceStub, identity: CallerIdentity) -> None:
        self._stub = stub
        self._identity = identity

    async def assets(self, tenant_id: uuid.UUID) -> list[Asset]:
        response = await self._identity.call(
            self._stub.ListAssets, tenancy_pb2.ListAssetsRequest(), service_principal("analytics", tenant_id)
        )
        return [
            Asset(
                uuid.UUID(a.id),
                uuid.UUID(a.parent_id) if a.parent_id else None,
                KINDS.get(a.kind, "unknown"),
                a.name,
                a.ideal_cycle_s,
            )
            for a in response.assets
        ]

    async def series_of(self, tenant_id: uuid.UUID, machine_ids: list[uuid.UUID]) -> list[SeriesInfo]:
        response = await self._identity.call(
            self._stub.ListSeries,
            tenancy_pb2.ListSeriesRequest(machine_ids=[str(m) for m in machine_ids]),
            service_principal("analytics", tenant_id),
        )
        return [SeriesInfo(uuid.UUID(s.id), uuid.UUID(s.machine_id), s.name, s.kind) for s in response.series]
