"""Metering and billing: usage per tenant per day, and a supplier's monthly billing export (CSV).

Ingest reports points, bytes stored and active devices as absolute daily totals; the gateway adds API
calls. A tenant's managers see their own usage, a supplier its tenants', the operator everyone's, and
the analytics service (a token scoped to one tenant) that tenant's, for its smart-factory level.
"""

from __future__ import annotations

import calendar
import csv
import io
from datetime import date

from services.runtime.errors import InvalidArgument
from services.runtime.principal import Kind, Principal
from services.runtime.transactions import Transactions
from services.runtime.validation import parse_day
from services.tenancy.audit import visibility
from services.tenancy.storage import usage as storage

BILLING_COLUMNS = (
    "tenant_id",
    "tenant",
    "plan",
    "state",
    "price_krw",
    "points",
    "bytes_stored",
    "active_devices",
    "api_calls",
)
MAX_DAYS = 366


def month_bounds(month: str) -> tuple[date, date]:
    try:
        year, number = (int(part) for part in month.split("-"))
        return date(year, number, 1), date(year, number, calendar.monthrange(year, number)[1])
    except ValueError:
        raise InvalidArgument.of("month", "must be a month like 2026-11") from None


class Metering:
    def __init__(self, db: Transactions, prices: dict[str, int]) -> None:
        self._db = db
        self._prices = prices  # plan code → monthly price in KRW, from tenants/plans.yaml

    async def record_usage(self, caller: Principal, day: str, points: int, stored: int, devices: int) -> None:
        caller.require_service("ingest")
        tenant_id = caller.require_tenant()
        async with self._db.tenant(tenant_id) as conn:
            await storage.set_metered(conn, tenant_id, parse_day("day", day), points, stored, devices)

    async def record_api_calls(self, caller: Principal, day: str, calls: int) -> None:
        caller.require_service("gateway")
        tenant_id = caller.require_tenant()
        async with self._db.tenant(tenant_id) as conn:
            await storage.add_api_calls(conn, tenant_id, parse_day("day", day), calls)

    async def usage(self, caller: Principal, first_day: str, last_day: str) -> list[tuple]:
        first, last = parse_day("first_day", first_day), parse_day("last_day", last_day)
        if not 0 <= (last - first).days < MAX_DAYS:
            raise InvalidArgument.of(
                "last_day", f"must be on or after first_day, at most {MAX_DAYS} days later"
            )
        async with self._db.transaction(_readers(caller)) as conn:
            return await storage.daily(conn, first, last)

    async def billing_csv(self, caller: Principal, month: str) -> str:
        """One row per tenant the caller resells (or, for the operator, every tenant) for the month."""
        if not (caller.platform_operator or caller.supplier_id):
            caller.require_supplier()
        first, last = month_bounds(month)
        async with self._db.transaction(visibility(caller)) as conn:
            rows = await storage.billing_rows(conn, first, last)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(BILLING_COLUMNS)
        for tenant_id, name, plan, _plan_name, state, points, stored, devices, calls in rows:
            writer.writerow(
                [tenant_id, name, plan, state, self._prices.get(plan, 0), points, stored, devices, calls]
            )
        return out.getvalue()


def _readers(caller: Principal) -> dict[str, str]:
    """Row-level-security settings for reading usage: `visibility`, or the analytics service's tenant."""
    if caller.kind is Kind.SERVICE:
        caller.require_service("analytics")
        return {"app.tenant_id": str(caller.require_tenant())}
    return visibility(caller)
