"""Per-tenant limits on analytics' database work, so one tenant's heavy queries cannot starve another's.

Every transaction analytics opens (queries, production, level, anomaly, reports, shared reads) goes
through ``LimitedCells``: it takes one of the tenant's ``limit`` turns in this process, waiting for one
at most ``wait_s`` before it is refused with RESOURCE_EXHAUSTED (``TENANT_READS_BUSY``). The heavy query
calls (services/analytics/handlers.py) take the turn for the whole call, so decoding and building a
large answer count too; a turn is held by a task and the tasks it starts, which take no second one.
Each transaction also carries ``SET LOCAL statement_timeout`` so no single statement runs longer than the limit
(PostgreSQL cancels it; services/runtime/db.py answers RESOURCE_EXHAUSTED, ``QUERY_TIMEOUT``). The
timeout is transaction-local: it ends with the transaction and never stays on a pooled connection.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar

import psycopg

from services.runtime.cells import CellDatabases
from services.runtime.db import TENANT_SETTING
from services.runtime.errors import ResourceExhausted

_HELD: ContextVar[frozenset[uuid.UUID]] = ContextVar("tenant_turns_held", default=frozenset())


class TenantTurns:
    """At most ``limit`` turns per tenant at once; a caller waits for one at most ``wait_s``."""

    def __init__(self, limit: int, wait_s: float) -> None:
        self.limit = limit
        self._wait_s = wait_s
        self._turns: dict[uuid.UUID, asyncio.Semaphore] = {}
        self._users: Counter[uuid.UUID] = Counter()  # holders and waiters: a tenant with none is forgotten
        self._running: Counter[uuid.UUID] = Counter()
        self.peak = 0  # the most turns one tenant has held at once (a gauge for tests and metrics)
        self.refused = 0

    @asynccontextmanager
    async def turn(self, tenant_id: uuid.UUID) -> AsyncIterator[None]:
        if tenant_id in _HELD.get():  # this call has the tenant's turn already
            yield
            return
        turns = self._turns.setdefault(tenant_id, asyncio.Semaphore(self.limit))
        self._users[tenant_id] += 1
        try:
            try:
                await asyncio.wait_for(turns.acquire(), self._wait_s)
            except TimeoutError:
                self.refused += 1
                raise ResourceExhausted(
                    f"your tenant already runs {self.limit} analytics reads at once and more are waiting;"
                    " try again shortly or ask for less (a shorter range, fewer series)",
                    reason="TENANT_READS_BUSY",
                    retry_after_s=1.0,
                ) from None
            self._running[tenant_id] += 1
            self.peak = max(self.peak, self._running[tenant_id])
            held = _HELD.set(_HELD.get() | {tenant_id})
            try:
                yield
            finally:
                _HELD.reset(held)
                self._running[tenant_id] -= 1
                turns.release()
        finally:
            self._users[tenant_id] -= 1
            if not self._users[tenant_id]:
                del self._users[tenant_id], self._turns[tenant_id], self._running[tenant_id]


class LimitedCells:
    """Analytics' tenant transactions: one of the tenant's turns each, and a statement timeout."""

    def __init__(self, cells: CellDatabases, turns: TenantTurns, statement_timeout_ms: int) -> None:
        self._cells = cells
        self.turns = turns
        self._timeout = str(statement_timeout_ms)

    @asynccontextmanager
    async def tenant(
        self, tenant_id: uuid.UUID, cell: str, *, snapshot: bool = False
    ) -> AsyncIterator[psycopg.AsyncConnection]:
        """A transaction scoped to the tenant on its cell (see ``CellTransactions``), within its limits."""
        settings = {TENANT_SETTING: str(tenant_id), "statement_timeout": self._timeout}
        async with self.turns.turn(tenant_id):
            async with self._cells.for_cell(cell).transaction(settings, snapshot=snapshot) as conn:
                yield conn
