"""`sf tenants apply DIR`: reconcile the tenants declared in DIR/*.yaml with the database.

It runs the tenancy service's own provisioning against its database (as `sf migrate` runs the
migrations), so it needs `SF_DATABASE_URL`; generated device credentials are printed once.
"""

from __future__ import annotations

from pathlib import Path

from services.runtime.config import Env
from services.runtime.db import Database
from services.runtime.settings import role_url
from services.tenancy import catalog, provisioning
from services.tenancy.credentials import PasswordChecker


async def apply(folder: Path, env: Env) -> list[provisioning.ApplyReport]:
    loaded = catalog.load_catalog(Path(env.str("SF_CATALOG_DIR", str(catalog.DEFAULT_CATALOG_DIR))))
    manifests = catalog.load_manifests(folder, loaded)
    if not manifests:
        raise catalog.CatalogError(f"{folder}: no tenant manifests (*.yaml) here")
    admin_url = env.url("SF_DATABASE_URL", ("postgresql", "postgres"))
    url = env.optional("SF_TENANCY_DATABASE_URL") or role_url(
        admin_url, "sf_tenancy", env.optional("SF_DATABASE_APP_PASSWORD")
    )
    db, passwords = Database(url, min_size=1, max_size=2, name="sf-tenants-apply"), PasswordChecker()
    await db.open()
    try:
        await provisioning.load_plans(db, loaded.plans)
        return [await provisioning.apply(db, passwords, manifest) for manifest in manifests]
    finally:
        await db.close()


def describe(report: provisioning.ApplyReport) -> list[str]:
    state = "created" if report.created else "plan changed" if report.plan_changed else "up to date"
    lines = [
        f"{report.tenant}: {state}"
        + (f"; users added: {', '.join(report.users_added)}" if report.users_added else "")
    ]
    lines += [
        f"  device {name}: credential {credential} (shown once)"
        for name, credential in report.credentials.items()
    ]
    return lines
