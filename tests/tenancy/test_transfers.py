"""A tenant moves to another supplier when its owner asks and that supplier accepts."""

from __future__ import annotations

import grpc

from services.runtime.principal import Role
from sfcloud.v1 import tenancy_pb2 as pb
from tests.control_plane import rejected


async def _tenant_ids(tenancy, staff) -> set[str]:
    return {
        t.id for t in (await tenancy.call("ListTenants", pb.ListTenantsRequest(page_size=200), staff)).tenants
    }


async def test_both_sides_consent_and_the_old_supplier_loses_sight(tenancy):
    _, old = await tenancy.supplier("Old SI")
    new_supplier, new = await tenancy.supplier("New SI")
    _, bystander = await tenancy.supplier("Bystander")
    tenant, owner = await tenancy.tenant(old)
    transfer = (
        await tenancy.call(
            "RequestSupplierTransfer",
            pb.RequestSupplierTransferRequest(to_supplier_id=new_supplier.id),
            owner,
        )
    ).transfer_id
    assert tenant.id in await _tenant_ids(tenancy, old) and tenant.id not in await _tenant_ids(tenancy, new)
    error = await rejected(
        tenancy.call(
            "AcceptSupplierTransfer", pb.AcceptSupplierTransferRequest(transfer_id=transfer), bystander
        )
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND
    moved = await tenancy.call(
        "AcceptSupplierTransfer", pb.AcceptSupplierTransferRequest(transfer_id=transfer), new
    )
    assert moved.tenant_id == tenant.id
    assert tenant.id in await _tenant_ids(tenancy, new) and tenant.id not in await _tenant_ids(tenancy, old)
    error = await rejected(tenancy.call("GetTenant", pb.GetTenantRequest(tenant_id=tenant.id), old))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    again = await rejected(
        tenancy.call("AcceptSupplierTransfer", pb.AcceptSupplierTransferRequest(transfer_id=transfer), new)
    )
    assert again.code() == grpc.StatusCode.NOT_FOUND
    for staff in (old, new):
        actions = [
            e.action
            for e in (await tenancy.call("ListAuditEvents", pb.ListAuditEventsRequest(), staff)).events
        ]
        assert "supplier.transfer_accept" in actions


async def test_only_the_owner_asks_and_one_request_at_a_time(tenancy):
    _, old = await tenancy.supplier("Old SI 2")
    new_supplier, _ = await tenancy.supplier("New SI 2")
    _, owner = await tenancy.tenant(old)
    admin = owner.__class__(owner.kind, owner.subject, tenant_id=owner.tenant_id, role=Role.ADMIN)
    request = pb.RequestSupplierTransferRequest(to_supplier_id=new_supplier.id)
    assert (
        await rejected(tenancy.call("RequestSupplierTransfer", request, admin))
    ).code() == grpc.StatusCode.PERMISSION_DENIED
    await tenancy.call("RequestSupplierTransfer", request, owner)
    assert (
        await rejected(tenancy.call("RequestSupplierTransfer", request, owner))
    ).code() == grpc.StatusCode.ALREADY_EXISTS
