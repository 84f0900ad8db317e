"""The programme operator's monthly utilisation report: is each tenant really using the platform?

Per tenant and month: days with data, devices registered and reporting, points and bytes stored, sign-ins,
features used and the daily smart-factory levels, with the flags the operator's rules raise
(tenants/utilisation_rules.yaml) and their reviews. Everything here is the operator's alone; a tenant never
learns it was flagged.

The control-plane facts (subscriptions, devices, the audit log's sign-ins and actions, API calls, levels) are
tenancy's own tables, read in a transaction scoped to each tenant in turn. What devices stored lives on the
tenant's cell, which only ingest and analytics read: tenancy asks analytics (`DeviceUsage`) as the service
`tenancy`, scoped to that tenant and its cell.

So every tenant costs four queries and a call to its cell: the report is read a page of tenants at a time (by
name, then id, keyset-paged as the operator's tenant list), and only the page's tenants are computed. Whether
a tenant is flagged is known only once its month is computed, so `flagged_only` keeps the flagged tenants of
the page: a page may hold fewer rows than its size, even none, and still name the next. Filling pages instead
would make one page cost the whole month when few tenants are flagged.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

from services.runtime import keyset
from services.runtime.errors import FailedPrecondition, InvalidArgument, NotFound, ServiceError
from services.runtime.principal import Principal
from services.runtime.transactions import Transactions
from services.runtime.validation import parse_id, require_name
from services.tenancy import audit
from services.tenancy.programme_models import (
    FEATURES,
    MAX_LEVEL,
    Flag,
    Period,
    ReportedTenant,
    Rule,
    SupplierLevels,
    Utilisation,
)
from services.tenancy.storage import utilisation as storage
from services.tenancy.usage import month_bounds
from services.tenancy.utilisation_rules import raised

log = logging.getLogger(__name__)

OPERATOR = {"app.operator": "on"}
MAX_NOTE = 2000
CSV_COLUMNS = (
    "month", "tenant_id", "tenant", "supplier_id", "plan", "state", "subsidised", "days_counted",
    "days_with_data", "registered_devices", "reporting_devices", "points", "bytes", "logins", "login_users",
    *FEATURES, "first_level", "last_level", "flags", "reviewed_flags",
)  # fmt: skip


class DeviceUsage(Protocol):
    async def usage(
        self, tenant_id: uuid.UUID, cell: str, first: date, last: date
    ) -> list[tuple[str, date, int, int]]:
        """(device id, day, points, bytes) per day a device stored data; Unavailable when it cannot be read."""


def period_of(month: str, today: date) -> Period:
    """The month's days to count: all of a past month, up to today of the current one; a future month is refused."""
    first, last = month_bounds(month)
    if first > today:
        raise InvalidArgument.of("month", "has not begun yet", reason="MONTH_NOT_STARTED")
    return Period(first, min(last, today), first.strftime("%Y-%m"))


def _start(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


MONTHS_AT_ONCE = 4  # tenants gathered at once: each holds a tenancy connection and asks analytics once
DEFAULT_PAGE, MAX_PAGE = 50, 200  # tenants a page of the report covers


class UtilisationReport:
    def __init__(self, db: Transactions, devices: DeviceUsage, rules: tuple[Rule, ...]) -> None:
        self._db = db
        self._devices = devices
        self._rules = rules

    async def report(
        self,
        caller: Principal,
        month: str,
        tenant_id: str = "",
        flagged_only: bool = False,
        page_size: int = 0,
        page_token: str = "",
    ) -> tuple[list[Utilisation], str]:
        """A page of the month's report (``page_size`` tenants after the token's, or the one ``tenant_id``),
        each tenant computed, and the next page's token ('' after the last)."""
        caller.require_platform_operator()
        period = period_of(month, datetime.now(UTC).date())
        only = parse_id("tenant_id", tenant_id) if tenant_id else None
        after = keyset.key_after(page_token, str, uuid.UUID)
        size = keyset.page_size(page_size, DEFAULT_PAGE, MAX_PAGE)
        month_end = _start(month_bounds(month)[1] + timedelta(days=1))
        async with self._db.transaction(OPERATOR) as conn:
            found = await storage.tenants(conn, month_end, only, after, size + 1)
            tenants, token = keyset.cut(found, size, lambda t: (t.name, t.id))
            reviews = await storage.reviews(conn, period.first, [t.id for t in tenants])
        if only is not None and not tenants:
            raise NotFound("no such tenant in that month", reason="TENANT_NOT_FOUND")
        at_once = asyncio.Semaphore(MONTHS_AT_ONCE)

        async def month_of(tenant: ReportedTenant) -> Utilisation:
            async with at_once:
                return await self._month(tenant, period, reviews)

        months = await asyncio.gather(*(month_of(t) for t in tenants))
        return [m for m in months if m.flags or not flagged_only], token

    async def _month(self, tenant: ReportedTenant, period: Period, reviews: dict) -> Utilisation:
        start, end = _start(period.first), _start(period.last + timedelta(days=1))
        async with self._db.tenant(tenant.id) as conn:
            registered = await storage.registered_devices(conn, start, end)
            logins, login_users = await storage.logins(conn, tenant.id, start, end)
            features = await storage.features(conn, tenant.id, start, end, period.first, period.last)
            levels = await storage.levels(conn, period.first, period.last)
        try:
            stored, unavailable = (
                await self._devices.usage(tenant.id, tenant.cell, period.first, period.last),
                False,
            )
        except ServiceError as exc:  # one tenant's cell down must not take the whole report with it
            log.warning(
                "utilisation: telemetry unavailable", extra={"tenant": str(tenant.id), "error": repr(exc)}
            )
            stored, unavailable = [], True
        month = Utilisation(
            tenant,
            period,
            days_with_data=len({day for _, day, _, _ in stored}),
            registered_devices=len(registered),
            reporting_devices=len({device for device, *_ in stored} & registered),
            points=sum(points for *_, points, _ in stored),
            bytes=sum(size for *_, size in stored),
            logins=logins,
            login_users=login_users,
            features=features,
            levels=levels,
            telemetry_unavailable=unavailable,
        )
        own_reviews = {rule: review for (t, rule), review in reviews.items() if t == tenant.id}
        return replace(month, flags=raised(self._rules, month, own_reviews))

    async def level_distribution(self, caller: Principal) -> list[SupplierLevels]:
        """Live tenants by their latest recorded level, per supplier, direct tenants first."""
        caller.require_platform_operator()
        async with self._db.transaction(OPERATOR) as conn:
            rows = await storage.latest_levels(conn)
        counts: dict[uuid.UUID | None, list[int]] = {}
        for supplier, level, tenants in rows:
            slots = counts.setdefault(supplier, [0] * (MAX_LEVEL + 2))  # the last slot: never assessed
            slots[MAX_LEVEL + 1 if level is None else level] += tenants
        direct_first = sorted(counts, key=lambda s: (s is not None, str(s or "")))
        return [SupplierLevels(s, tuple(counts[s][: MAX_LEVEL + 1]), counts[s][-1]) for s in direct_first]

    async def csv(
        self, caller: Principal, month: str, page_size: int = 0, page_token: str = ""
    ) -> tuple[str, str]:
        """The month's report as CSV with the same figures as `report`, a row per tenant after the header
        (first page only): a page of tenants and the next page's token, or every tenant when ``page_size``
        is 0 (read a page at a time)."""
        out = io.StringIO()
        writer = csv.writer(out)
        if not page_token:
            writer.writerow(CSV_COLUMNS)
        token = page_token
        while True:
            months, token = await self.report(
                caller, month, page_size=page_size or MAX_PAGE, page_token=token
            )
            writer.writerows(_csv_row(m) for m in months)
            if page_size or not token:
                return out.getvalue(), token

    async def review(self, caller: Principal, tenant_id: str, month: str, rule: str, note: str) -> Flag:
        """Mark a raised flag reviewed; reviewing again replaces the note. Audited as a platform event."""
        caller.require_platform_operator()
        note = require_name("note", note, MAX_NOTE)
        if rule not in {r.code for r in self._rules}:
            known = ", ".join(r.code for r in self._rules)
            raise InvalidArgument.of("rule", f"no rule {rule!r} (known: {known})", reason="UNKNOWN_RULE")
        [found], _ = await self.report(caller, month, tenant_id)
        flag = next((f for f in found.flags if f.rule.code == rule), None)
        if flag is None:
            raise FailedPrecondition(
                f"{rule} is not raised for this tenant in {month}", reason="FLAG_NOT_RAISED"
            )
        async with self._db.transaction(OPERATOR) as conn:
            review = await storage.put_review(
                conn, found.tenant.id, found.period.first, rule, note, f"user:{caller.subject}"
            )
            detail = {"month": found.period.month, "rule": rule, "value": flag.value, "note": note}
            await audit.record(conn, caller, "utilisation.review", target=str(found.tenant.id), detail=detail)
        return Flag(flag.rule, flag.value, flag.evidence, review)

    async def set_subsidised(self, caller: Principal, tenant_id: str, subsidised: bool) -> None:
        caller.require_platform_operator()
        target = parse_id("tenant_id", tenant_id)
        async with self._db.transaction(OPERATOR) as conn:
            if not await storage.set_subsidised(conn, target, subsidised):
                raise NotFound("tenant not found", reason="TENANT_NOT_FOUND")
            await audit.record(
                conn, caller, "subscription.subsidised", target=str(target), detail={"subsidised": subsidised}
            )


def _csv_row(m: Utilisation) -> list:
    levels = [level for _, level in m.levels]
    reviewed = [f.rule.code for f in m.flags if f.review is not None]
    return [
        m.period.month, m.tenant.id, m.tenant.name, m.tenant.supplier_id or "", m.tenant.plan, m.tenant.state,
        str(m.tenant.subsidised).lower(), m.period.days, m.days_with_data, m.registered_devices,
        m.reporting_devices, m.points, m.bytes, m.logins, m.login_users, *(m.features[f] for f in FEATURES),
        levels[0] if levels else "", levels[-1] if levels else "",
        ";".join(f.rule.code for f in m.flags), ";".join(reviewed),
    ]  # fmt: skip
