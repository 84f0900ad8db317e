"""The second wall of the raw window: a caller's read of raw points (ReadPoints, StreamPoints, ReadSharedPoints)
spans at most its plan's `raw_window_days` (services/runtime/plans.py), refused with INVALID_ARGUMENT,
reason ``TIME_RANGE_TOO_WIDE``, before the series is looked up or anything read.

The gateway refuses a wider raw read before the operation runs; this holds any gRPC caller to the same. The
handlers of those three calls check it first, as they take the tenant's turn (``heavy``): it limits what a
caller may ask, not what analytics may do, so its own analyses (OEE, anomaly models) and the worker's exports
read whatever range they need through the query service.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Protocol

from services.runtime.errors import InvalidArgument
from services.runtime.plans import DEFAULT_RAW_WINDOW_DAYS, RAW_WINDOW_REASON, too_wide
from services.runtime.principal import Principal
from services.tenancy.catalog import load_plans


class PlanWindows(Protocol):
    async def of(self, tenant_id: uuid.UUID | None) -> int:
        """The days one raw read may span on the tenant's plan (the default outside any tenant)."""


def windows_by_plan(catalog_dir: Path) -> dict[str, int]:
    """Every plan's raw window in days, by plan code."""
    return {
        code: plan.quotas.get("raw_window_days", DEFAULT_RAW_WINDOW_DAYS)
        for code, plan in load_plans(catalog_dir).items()
    }


class RawWindow:
    def __init__(self, windows: PlanWindows) -> None:
        self._windows = windows

    async def check(self, caller: Principal, start_ns: int, end_ns: int) -> None:
        message = too_wide(end_ns - start_ns, await self._windows.of(caller.tenant_id))
        if message is not None:
            raise InvalidArgument.of("range", message, reason=RAW_WINDOW_REASON)
