"""Loads the catalog into the database at start: plans always, the demo tenant when asked.

Ids of manifest objects are UUIDv5s derived from the tenant's slug and the
object's path, so loading the same manifest again finds what it made before;
a tenant is provisioned in one transaction, so it exists whole or not at all.
"""

from __future__ import annotations

import uuid
from typing import Any

from services.runtime.principal import Role
from services.runtime.transactions import Transactions
from services.tenancy import credentials
from services.tenancy.catalog import Manifest
from services.tenancy.models import Asset, Device, Plan, Series, Supplier, Tenant, User
from services.tenancy.passwords import Passwords
from services.tenancy.storage import access, assets, organisations

_NAMESPACE = uuid.UUID("5f0c1a4e-9a52-4c55-8a51-0d3f8a6b7c21")


def manifest_id(*path: str) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, "/".join(path))


async def load_plans(db: Transactions, plans: dict[str, Plan]) -> None:
    async with db.transaction({}) as conn:
        for plan in plans.values():
            await organisations.upsert_plan(conn, plan)


async def provision(db: Transactions, passwords: Passwords, manifest: Manifest) -> bool:
    """Create the manifest's tenant unless it exists; True when it was created now."""
    data = manifest.data
    slug = data["tenant"]["slug"]
    supplier = Supplier(
        manifest_id("supplier", data["supplier"]["slug"]), data["supplier"]["slug"], data["supplier"]["name"]
    )
    async with db.transaction({"app.supplier_id": str(supplier.id)}) as conn:
        supplier_id = await organisations.upsert_supplier(conn, supplier)
        for spec in data["supplier"].get("staff", []):
            user_id = await _ensure_user(conn, passwords, spec, platform_operator=False)
            await organisations.add_supplier_member(conn, supplier_id, user_id, spec["role"])
        if "operator" in data:
            await _ensure_user(conn, passwords, data["operator"], platform_operator=True)
    tenant = Tenant(manifest_id(slug), data["tenant"]["name"], slug, manifest.plan, supplier_id)
    async with db.tenant(tenant.id) as conn:
        if await organisations.tenant_exists(conn, tenant.id):
            return False
        await organisations.insert_tenant(conn, tenant, trial_days=None)
        for spec in data["users"]:
            user_id = await _ensure_user(conn, passwords, spec, platform_operator=False)
            await access.upsert_membership(conn, tenant.id, user_id, Role(spec["role"]))
        await _build_tree(conn, tenant.id, slug, manifest)
    return True


async def _ensure_user(
    conn: Any, passwords: Passwords, spec: dict[str, Any], platform_operator: bool
) -> uuid.UUID:
    found = await access.find_user_by_email(conn, spec["email"])
    if found:
        return found[0].id
    user = User(manifest_id("user", spec["email"]), spec["email"], spec["display_name"], platform_operator)
    await access.insert_user(conn, user, await passwords.hash(spec["password"]))
    return user.id


async def _build_tree(conn: Any, tenant_id: uuid.UUID, slug: str, manifest: Manifest) -> None:
    made: set[uuid.UUID] = set()
    for site, line, machine in manifest.machines():
        site_id, line_id = manifest_id(slug, site), manifest_id(slug, site, line)
        machine_id = manifest_id(slug, site, line, machine["name"])
        for asset in (
            Asset(site_id, None, "site", site),
            Asset(line_id, site_id, "line", line),
            Asset(machine_id, line_id, "machine", machine["name"]),
        ):
            if asset.id not in made:
                await assets.insert_asset(conn, tenant_id, asset)
                made.add(asset.id)
        for spec in manifest.series_of(machine):
            series_id = manifest_id(slug, site, line, machine["name"], spec["name"])
            series = Series(series_id, machine_id, spec["name"], spec["unit"], spec["kind"], spec["decimals"])
            await assets.insert_series(conn, tenant_id, series)
        device = Device(manifest_id(slug, "device", machine["device"]), machine["device"])
        credential = machine["credential"]
        await access.insert_device(
            conn,
            tenant_id,
            device,
            credentials.credential_prefix(credential),
            credentials.credential_hash(credential),
        )
