"""Tenants as code: reconciling declared tenants (manifests) with the database, idempotently.

Used by `sf tenants apply DIR` and, for `tenants/demo/`, by the tenancy service at start. A tenant
that does not exist is created whole in one transaction; one that exists gets what its manifest adds
(users, machines, series, devices) and its plan follows the manifest (audited). Nothing is removed:
deleting is a deliberate act, not a side effect of a missing line.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from services.runtime.principal import Principal, Role
from services.runtime.tokens import service_principal
from services.runtime.transactions import Transactions
from services.tenancy import audit, layout
from services.tenancy.catalog import Manifest
from services.tenancy.models import Plan, Supplier, Tenant, User
from services.tenancy.organisations import check_quota_after
from services.tenancy.passwords import Passwords
from services.tenancy.storage import access, organisations

APPLIER: Principal = service_principal("sf-apply")


@dataclass
class ApplyReport:
    tenant: str
    created: bool = False
    plan_changed: bool = False
    users_added: list[str] = field(default_factory=list)
    credentials: dict[str, str] = field(default_factory=dict)  # generated device credentials, shown once


def manifest_id(*path: str) -> uuid.UUID:
    return layout.layout_id(*path)


async def load_plans(db: Transactions, plans: dict[str, Plan]) -> None:
    async with db.transaction({}) as conn:
        for plan in plans.values():
            await organisations.upsert_plan(conn, plan)


async def apply(db: Transactions, passwords: Passwords, manifest: Manifest) -> ApplyReport:
    data, report = manifest.data, ApplyReport(manifest.slug)
    supplier_id = await _ensure_supplier(db, passwords, data.get("supplier"))
    if "operator" in data:
        async with db.transaction({}) as conn:
            await _ensure_user(conn, passwords, data["operator"], platform_operator=True)
    tenant = Tenant(
        manifest_id(manifest.slug),
        data["tenant"]["name"],
        manifest.slug,
        manifest.plan,
        supplier_id,
        template=manifest.template.code,
        cell=data["tenant"].get("cell", "default"),
    )
    async with db.tenant(tenant.id) as conn:
        existing = await organisations.get_tenant(conn, tenant.id)
        if existing is None:
            await organisations.insert_tenant(
                conn, tenant, trial_days=None, kpi_targets=manifest.template.kpi_targets
            )
            await audit.record(conn, APPLIER, "tenant.create", tenant_id=tenant.id, target=str(tenant.id))
            report.created = True
        elif existing.plan_code != manifest.plan:
            await organisations.set_plan(conn, tenant.id, manifest.plan)
            await audit.record(
                conn,
                APPLIER,
                "subscription.change_plan",
                tenant_id=tenant.id,
                target=str(tenant.id),
                detail={"from": existing.plan_code, "to": manifest.plan},
            )
            report.plan_changed = True
        for spec in data["users"]:
            if await _ensure_member(conn, passwords, tenant.id, spec):
                report.users_added.append(spec["email"])
        report.credentials = await layout.build(
            conn, tenant.id, manifest.slug, manifest.sites(), manifest.catalog.machine_types
        )
        await check_quota_after(conn, tenant.id)
    return report


async def _ensure_supplier(
    db: Transactions, passwords: Passwords, spec: dict[str, Any] | None
) -> uuid.UUID | None:
    if spec is None:
        return None
    supplier = Supplier(manifest_id("supplier", spec["slug"]), spec["slug"], spec["name"])
    async with db.transaction({"app.supplier_id": str(supplier.id)}) as conn:
        supplier_id = await organisations.upsert_supplier(conn, supplier)
        for staff in spec.get("staff", []):
            user_id = await _ensure_user(conn, passwords, staff, platform_operator=False)
            await organisations.add_supplier_member(conn, supplier_id, user_id, staff["role"])
    return supplier_id


async def _ensure_member(conn: Any, passwords: Passwords, tenant_id: uuid.UUID, spec: dict[str, Any]) -> bool:
    """Make the user (if new) a member with the declared role; True when the membership is new."""
    user_id = await _ensure_user(conn, passwords, spec, platform_operator=False)
    return await access.upsert_membership(conn, tenant_id, user_id, Role(spec["role"]))


async def _ensure_user(
    conn: Any, passwords: Passwords, spec: dict[str, Any], platform_operator: bool
) -> uuid.UUID:
    found = await access.find_user_by_email(conn, spec["email"])
    if found:
        return found[0].id
    user = User(manifest_id("user", spec["email"]), spec["email"], spec["display_name"], platform_operator)
    await access.insert_user(conn, user, await passwords.hash(spec["password"]))
    return user.id
