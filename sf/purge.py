"""`sf tenants purge`: offboard cancelled tenants whose grace period is over.

For each: its telemetry on its cell (its exports' records too), its export packages under
`SF_EXPORT_DIR` (when set), its Redis keys (sessions, live channels), then its control-plane records, its
audit trail and the accounts that belonged to it alone. The tenant record goes last, so
an interrupted purge is finished by the next run. Run it daily (a Kubernetes CronJob in production).
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import redis.asyncio as aioredis

from services.ingest import storage as telemetry
from services.runtime.cells import CellDatabases
from services.runtime.config import Env
from services.runtime.db import Database
from services.runtime.keys import tenant_key
from services.runtime.settings import parse_cells, role_url
from services.runtime.tokens import service_principal
from services.tenancy import audit
from services.tenancy.storage import organisations
from services.worker.config import DEFAULT_EXPORT_DIR

PURGER = service_principal("sf-purge")


@dataclass
class Purged:
    tenant_id: uuid.UUID
    blocks: int
    redis_keys: int
    accounts: int


async def purge_due(env: Env) -> list[Purged]:
    admin_url = env.url("SF_DATABASE_URL", ("postgresql", "postgres"))
    password = env.optional("SF_DATABASE_APP_PASSWORD")
    tenancy = Database(role_url(admin_url, "sf_tenancy", password), min_size=1, max_size=1, name="sf-purge")
    cells = CellDatabases.of_role(
        admin_url, parse_cells(env.optional("SF_CELLS")), "sf_ingest", password, "sf-purge"
    )
    redis = aioredis.Redis.from_url(env.url("SF_REDIS_URL", ("redis", "rediss", "unix")))
    await tenancy.open()
    await cells.open_all()
    try:
        async with tenancy.transaction({"app.operator": "on"}) as conn:
            due = await organisations.due_for_purge(conn)
        exports = Path(env.str("SF_EXPORT_DIR", str(DEFAULT_EXPORT_DIR)))
        return [await _purge(tenancy, cells, redis, exports, tenant_id, cell) for tenant_id, cell in due]
    finally:
        await redis.aclose()
        await cells.close_all()
        await tenancy.close()


async def _purge(
    tenancy: Database,
    cells: CellDatabases,
    redis: aioredis.Redis,
    exports: Path,
    tenant_id: uuid.UUID,
    cell: str,
) -> Purged:
    async with cells.tenant(tenant_id, cell) as conn:
        blocks = await telemetry.delete_tenant_data(conn, tenant_id)
    await asyncio.to_thread(shutil.rmtree, exports / str(tenant_id), True)
    keys = [key async for key in redis.scan_iter(match=tenant_key(tenant_id, "*"), count=1000)]
    if keys:
        await redis.delete(*keys)
    settings = {"app.tenant_id": str(tenant_id), "app.purging": str(tenant_id)}
    async with tenancy.transaction(settings) as conn:
        accounts = await organisations.delete_tenant(conn, tenant_id)
        await audit.record(
            conn,
            PURGER,
            "tenant.purge",
            tenant_id=None,
            target=str(tenant_id),
            detail={"blocks": blocks, "redis_keys": len(keys), "accounts": len(accounts)},
        )
    return Purged(tenant_id, blocks, len(keys), len(accounts))
