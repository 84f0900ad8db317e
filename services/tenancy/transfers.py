"""A tenant changing supplier: both sides consent. The tenant's owner asks to move to a supplier (from the
supplier directory, with a message); that supplier's staff accept, or decline with a note; the old
supplier loses sight of the tenant at the moment of acceptance. Both sides see the request and its
outcome; every step is audited for the tenant and for each supplier concerned."""

from __future__ import annotations

import uuid
from datetime import datetime

from services.runtime import keyset
from services.runtime.errors import FailedPrecondition, NotFound
from services.runtime.principal import Principal, Role
from services.runtime.transactions import Transactions
from services.runtime.validation import limit_text, parse_id
from services.tenancy import audit, notices
from services.tenancy.audit import visibility
from services.tenancy.storage import organisations as org_storage
from services.tenancy.storage import transfers as storage
from services.tenancy.support_models import Transfer

MAX_MESSAGE = 2000
MAX_LIST = 200


class Transfers:
    def __init__(self, db: Transactions, courier: notices.Courier) -> None:
        self._db = db
        self._courier = courier

    async def request(self, caller: Principal, to_supplier_id: str, message: str = "") -> uuid.UUID:
        tenant_id = caller.require_role(Role.OWNER)
        to_supplier = parse_id("to_supplier_id", to_supplier_id)
        message = limit_text("message", message, MAX_MESSAGE)
        transfer_id = uuid.uuid4()
        async with self._db.tenant(tenant_id) as conn:
            if await org_storage.get_supplier(conn, to_supplier) is None:
                raise NotFound("supplier not found", reason="SUPPLIER_NOT_FOUND")
            tenant = await org_storage.get_tenant(conn, tenant_id)
            if tenant.supplier_id == to_supplier:
                raise FailedPrecondition(
                    "the tenant already belongs to this supplier", reason="SAME_SUPPLIER"
                )
            moves = (tenant.supplier_id, to_supplier)
            await storage.insert(conn, tenant_id, transfer_id, moves, caller.subject, tenant.name, message)
            for side in _named(moves):
                await audit.record(
                    conn,
                    caller,
                    "supplier.transfer_request",
                    supplier_id=side,
                    target=str(transfer_id),
                    detail={"to": str(to_supplier)},
                )
            await notices.owe(conn, notices.request_made(tenant_id, to_supplier, transfer_id, message))
        self._courier.wake()
        return transfer_id

    async def accept(self, caller: Principal, transfer_id: str) -> uuid.UUID:
        """The receiving supplier's staff accept; returns the tenant that moved."""
        target, tenant_id, from_supplier, supplier = await self._open_to_caller(caller, transfer_id)
        settings = {"app.tenant_id": str(tenant_id), "app.supplier_id": str(supplier)}
        async with self._db.transaction(settings) as conn:
            if not await storage.accept(conn, target, tenant_id, supplier, caller.subject):
                raise NotFound("transfer request not found", reason="TRANSFER_NOT_FOUND")
            await _record_both(
                conn, caller, "supplier.transfer_accept", tenant_id, (from_supplier, supplier), target
            )
            await notices.owe(conn, notices.request_decided(tenant_id, supplier, target, accepted=True))
        self._courier.wake()
        return tenant_id

    async def decline(self, caller: Principal, transfer_id: str, note: str) -> None:
        """The asked supplier's staff decline, saying why; the tenant stays where it is."""
        note = limit_text("note", note, MAX_MESSAGE)
        target, tenant_id, from_supplier, supplier = await self._open_to_caller(caller, transfer_id)
        settings = {"app.tenant_id": str(tenant_id), "app.supplier_id": str(supplier)}
        async with self._db.transaction(settings) as conn:
            if not await storage.decline(conn, target, caller.subject, note):
                raise NotFound("transfer request not found", reason="TRANSFER_NOT_FOUND")
            await _record_both(
                conn, caller, "supplier.transfer_decline", tenant_id, (from_supplier, supplier), target
            )
            await notices.owe(conn, notices.request_decided(tenant_id, supplier, target, False, note))
        self._courier.wake()

    async def list(self, caller: Principal, page_size: int, page_token: str) -> tuple[list[Transfer], str]:
        """A page, newest first, and the next page's token: a tenant's owners and admins see its requests; a
        supplier's staff those to and from it."""
        after = keyset.key_after(page_token, datetime, uuid.UUID)
        size = keyset.page_size(page_size, MAX_LIST, MAX_LIST)
        async with self._db.transaction(visibility(caller)) as conn:
            found = await storage.list_visible(conn, after, size + 1)
        return keyset.cut(found, size, lambda t: (t.requested_at, t.id))

    async def _open_to_caller(
        self, caller: Principal, transfer_id: str
    ) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID | None, uuid.UUID]:
        """(transfer, tenant, from, to) of an open transfer to the caller's supplier; else NOT_FOUND."""
        supplier = caller.require_supplier()
        target = parse_id("transfer_id", transfer_id)
        async with self._db.transaction({"app.supplier_id": str(supplier)}) as conn:
            found = await storage.find_open(conn, target)
        if found is None or found[2] != supplier:
            raise NotFound("transfer request not found", reason="TRANSFER_NOT_FOUND")
        tenant_id, from_supplier, _ = found
        return target, tenant_id, from_supplier, supplier


async def _record_both(
    conn, caller: Principal, action: str, tenant_id: uuid.UUID, sides: tuple, target: uuid.UUID
) -> None:
    from_supplier, to_supplier = sides
    for side in _named(sides):
        await audit.record(
            conn,
            caller,
            action,
            tenant_id=tenant_id,
            supplier_id=side,
            target=str(target),
            detail={"from": str(from_supplier or ""), "to": str(to_supplier)},
        )


def _named(sides: tuple[uuid.UUID | None, uuid.UUID]) -> list[uuid.UUID]:
    """The suppliers concerned, each audited once (a tenant without a supplier has no old one)."""
    return [side for side in sides if side is not None]
