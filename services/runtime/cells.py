"""Database cells: groups of tenants whose telemetry lives on its own PostgreSQL cluster.

The control plane (tenancy) stays on the default cell and records each tenant's cell; ingest and
analytics keep one pool per cell and run each tenant's transactions on that tenant's cell, which
the verified caller (device credential or internal token) names.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

from services.runtime.db import Database
from services.runtime.errors import Unavailable
from services.runtime.settings import DEFAULT_CELL, role_url


class CellDatabases:
    def __init__(self, default: Database, extra: Mapping[str, str], name: str) -> None:
        self._pools = {DEFAULT_CELL: default} | {
            cell: Database(url, name=f"{name}-{cell}") for cell, url in extra.items()
        }

    @classmethod
    def of_role(
        cls, admin_url: str, extra: Mapping[str, str], role: str, password: str | None, name: str
    ) -> CellDatabases:
        """One small pool per cell as the service role ``role`` (for a command such as `sf tenants purge`),
        from the owner URLs of the default cell and the ``extra`` ones."""
        default = Database(role_url(admin_url, role, password), min_size=1, max_size=1, name=name)
        return cls(default, {cell: role_url(url, role, password) for cell, url in extra.items()}, name)

    async def open_all(self) -> None:
        await self.for_cell(DEFAULT_CELL).open()
        await self.open_extra()

    async def close_all(self) -> None:
        await self.close_extra()
        await self.for_cell(DEFAULT_CELL).close()

    def for_cell(self, cell: str) -> Database:
        try:
            return self._pools[cell or DEFAULT_CELL]
        except KeyError:
            raise Unavailable(
                f"database cell {cell!r} is not configured here", reason="UNKNOWN_CELL"
            ) from None

    def tenant(
        self, tenant_id: uuid.UUID, cell: str, *, snapshot: bool = False
    ) -> AbstractAsyncContextManager[Any]:
        """A transaction scoped to the tenant, on the tenant's cell (REPEATABLE READ with ``snapshot``)."""
        return self.for_cell(cell).tenant(tenant_id, snapshot=snapshot)

    def supplier(self, supplier_id: uuid.UUID, cell: str) -> AbstractAsyncContextManager[Any]:
        """A transaction scoped to one supplier (`app.supplier_id`) on ``cell``: the rows a supplier owns
        beside a tenant's telemetry (its exports of grants), never the telemetry itself."""
        return self.for_cell(cell).transaction({"app.supplier_id": str(supplier_id)})

    def scoped(self, cell: str, settings: Mapping[str, str]) -> AbstractAsyncContextManager[Any]:
        """A transaction on ``cell`` with the given `app.*` settings (a sweep's scope across tenants)."""
        return self.for_cell(cell).transaction(settings)

    @property
    def names(self) -> tuple[str, ...]:
        """Every cell configured here, the default first."""
        return tuple(self._pools)

    async def open_extra(self) -> None:
        for cell, pool in self._pools.items():
            if cell != DEFAULT_CELL:
                await pool.open()

    async def close_extra(self) -> None:
        for cell, pool in self._pools.items():
            if cell != DEFAULT_CELL:
                await pool.close()

    async def check(self) -> None:
        for pool in self._pools.values():
            await pool.check()
