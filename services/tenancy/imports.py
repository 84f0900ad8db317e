"""An imported asset tree (docs/DATA-MODEL.md, `sf import`): the package's assets and series made anew in
the target tenant, in one transaction, checked like any other creation (ISA-95 levels, names unique under
their parent, the plan's series quota) and audited.

The new ids are derived from (tenant, export id, old id) with UUIDv5: importing the same package into the
same tenant again finds the same ids and creates nothing twice, which is what makes an import that
stopped after this step resumable.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from services.runtime.errors import NotFound
from services.runtime.principal import Principal
from services.runtime.tokens import service_principal
from services.runtime.transactions import Transactions
from services.tenancy import audit
from services.tenancy.models import Asset, Series
from services.tenancy.organisations import check_quota_after
from services.tenancy.storage import assets as storage
from services.tenancy.storage import organisations

IMPORTER: Principal = service_principal("sf-import")
_NAMESPACE = uuid.UUID("6b1c3f9e-2f7d-4c52-9a0e-5d1b8e7f0c21")


@dataclass(frozen=True)
class ImportedTree:
    cell: str
    assets: dict[uuid.UUID, uuid.UUID]  # old id → new id
    series: dict[uuid.UUID, uuid.UUID]
    created: int  # assets and series created now (0 when a previous run made them)


def new_id(tenant_id: uuid.UUID, export_id: str, old: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"{tenant_id}/{export_id}/{old}")


async def create_tree(
    db: Transactions, tenant_id: uuid.UUID, export_id: str, assets: list[Asset], series: list[Series]
) -> ImportedTree:
    """``assets`` parents first, as validated by the importer; all or nothing."""
    mapped = {a.id: new_id(tenant_id, export_id, a.id) for a in assets}
    mapped_series = {s.id: new_id(tenant_id, export_id, s.id) for s in series}
    created = 0
    async with db.tenant(tenant_id) as conn:
        tenant = await organisations.get_tenant(conn, tenant_id)
        if tenant is None:
            raise NotFound(f"tenant {tenant_id} not found", reason="TENANT_NOT_FOUND")
        for asset in assets:
            parent = mapped[asset.parent_id] if asset.parent_id else None
            created += await storage.insert_asset(
                conn, tenant_id, replace(asset, id=mapped[asset.id], parent_id=parent)
            )
        for s in series:
            created += await storage.insert_series(
                conn, tenant_id, replace(s, id=mapped_series[s.id], machine_id=mapped[s.machine_id])
            )
        await check_quota_after(conn, tenant_id)
        await audit.record(
            conn,
            IMPORTER,
            "tenant.import",
            tenant_id=tenant_id,
            target=export_id,
            detail={"assets": len(assets), "series": len(series), "created": created},
        )
    return ImportedTree(tenant.cell, mapped, mapped_series, created)
