"""What the service layers need of the database: tenant-scoped transactions (no driver types here)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol


class Transactions(Protocol):
    def tenant(self, tenant_id: uuid.UUID) -> AbstractAsyncContextManager[Any]:
        """A transaction scoped to one tenant by row-level security."""

    def transaction(self, settings: Mapping[str, str]) -> AbstractAsyncContextManager[Any]:
        """A transaction with the given `app.*` settings set locally (narrow lookups)."""


class CellTransactions(Protocol):
    def tenant(
        self, tenant_id: uuid.UUID, cell: str, *, snapshot: bool = False
    ) -> AbstractAsyncContextManager[Any]:
        """A transaction scoped to one tenant, on the database cell that holds its telemetry; with
        ``snapshot`` every statement in it sees the data as of the first (REPEATABLE READ)."""
