"""`sf import PACKAGE --tenant ID`: load an export package (docs/DATA-MODEL.md) into a tenant.

Like `sf tenants apply` it runs as the services' own roles from `SF_DATABASE_URL` (and `SF_CELLS`):
the asset tree through tenancy's role, the points through ingest's on the tenant's cell.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from services.exchange.importer import ImportReport, import_package
from services.exchange.package import Package
from services.runtime.cells import CellDatabases
from services.runtime.config import Env
from services.runtime.db import Database
from services.runtime.settings import parse_cells, role_url


async def run_import(path: Path, tenant_id: uuid.UUID, env: Env) -> ImportReport:
    admin_url = env.url("SF_DATABASE_URL", ("postgresql", "postgres"))
    password = env.optional("SF_DATABASE_APP_PASSWORD")
    tenancy = Database(role_url(admin_url, "sf_tenancy", password), min_size=1, max_size=1, name="sf-import")
    cells = CellDatabases.of_role(
        admin_url, parse_cells(env.optional("SF_CELLS")), "sf_ingest", password, "sf-import"
    )
    with Package(path) as package:  # opened (manifest read) before any connection
        await tenancy.open()
        await cells.open_all()
        try:
            return await import_package(package, tenant_id, tenancy, cells)
        finally:
            await cells.close_all()
            await tenancy.close()


def describe(report: ImportReport) -> str:
    done = "already imported; nothing loaded again" if report.resumed and not report.points else "imported"
    return (
        f"{done}: {len(report.assets)} assets, {len(report.series)} series, {report.points} points "
        f"in {report.blocks} blocks into tenant {report.tenant_id} (export {report.export_id})"
    )
