"""A tenant changing supplier: both sides consent. The tenant's owner asks to move to a supplier;
that supplier's admin accepts; the old supplier loses sight of the tenant at that moment."""

from __future__ import annotations

import uuid

from services.runtime.errors import FailedPrecondition, NotFound
from services.runtime.principal import Principal, Role
from services.runtime.transactions import Transactions
from services.runtime.validation import parse_id
from services.tenancy import audit
from services.tenancy.storage import organisations as org_storage
from services.tenancy.storage import transfers as storage


class Transfers:
    def __init__(self, db: Transactions) -> None:
        self._db = db

    async def request(self, caller: Principal, to_supplier_id: str) -> uuid.UUID:
        tenant_id = caller.require_role(Role.OWNER)
        to_supplier = parse_id("to_supplier_id", to_supplier_id)
        transfer_id = uuid.uuid4()
        async with self._db.tenant(tenant_id) as conn:
            if await org_storage.get_supplier(conn, to_supplier) is None:
                raise NotFound("supplier not found", reason="SUPPLIER_NOT_FOUND")
            tenant = await org_storage.get_tenant(conn, tenant_id)
            if tenant.supplier_id == to_supplier:
                raise FailedPrecondition(
                    "the tenant already belongs to this supplier", reason="SAME_SUPPLIER"
                )
            await storage.insert(
                conn, tenant_id, transfer_id, tenant.supplier_id, to_supplier, caller.subject
            )
            await audit.record(
                conn,
                caller,
                "supplier.transfer_request",
                supplier_id=tenant.supplier_id,
                target=str(transfer_id),
                detail={"to": str(to_supplier)},
            )
        return transfer_id

    async def accept(self, caller: Principal, transfer_id: str) -> uuid.UUID:
        """The receiving supplier's staff accept; returns the tenant that moved."""
        supplier = caller.require_supplier()
        target = parse_id("transfer_id", transfer_id)
        async with self._db.transaction({"app.supplier_id": str(supplier)}) as conn:
            found = await storage.find_open(conn, target)
        if found is None or found[2] != supplier:
            raise NotFound("transfer request not found", reason="TRANSFER_NOT_FOUND")
        tenant_id, from_supplier, _ = found
        settings = {"app.tenant_id": str(tenant_id), "app.supplier_id": str(supplier)}
        async with self._db.transaction(settings) as conn:
            if not await storage.accept(conn, target, tenant_id, supplier):
                raise NotFound("transfer request not found", reason="TRANSFER_NOT_FOUND")
            for side in (from_supplier, supplier):
                await audit.record(
                    conn,
                    caller,
                    "supplier.transfer_accept",
                    tenant_id=tenant_id,
                    supplier_id=side,
                    target=str(target),
                    detail={"from": str(from_supplier or ""), "to": str(supplier)},
                )
        return tenant_id
