"""The smart-factory level of the caller's tenant: the facts gathered from the tenant's cell and from
tenancy, judged by ``criteria``, stored as the day's assessment; and the stored history.

Imports neither grpc nor psycopg: tenancy is reached through the ``Assets`` and ``Activity`` protocols,
the cell through ``storage`` inside a tenant transaction.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from services.analytics.level import criteria, storage
from services.analytics.level.criteria import Assessment, Facts, Finding
from services.analytics.production.assets import Asset, SeriesInfo
from services.analytics.service import check_range, reader_tenant
from services.runtime.errors import InvalidArgument
from services.runtime.principal import Principal
from services.runtime.transactions import CellTransactions

HOUR_NS = 3600 * 10**9
MAX_HISTORY_DAYS = 366


class Assets(Protocol):
    async def assets(self, tenant_id: uuid.UUID) -> list[Asset]: ...

    async def series_of(self, tenant_id: uuid.UUID, machine_ids: list[uuid.UUID]) -> list[SeriesInfo]: ...


class Activity(Protocol):
    async def alarm_rules(self, tenant_id: uuid.UUID) -> tuple[int, int]: ...

    async def api_calls(self, tenant_id: uuid.UUID, today: date, days: int) -> int: ...

    async def record_level(self, tenant_id: uuid.UUID, day: date, level: int) -> None: ...


@dataclass(frozen=True)
class Dated:
    """An assessment with the moment it was made and the UTC day it is stored under."""

    assessment: Assessment
    day: date
    at_ns: int


class LevelService:
    def __init__(
        self,
        cells: CellTransactions,
        assets: Assets,
        activity: Activity,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self._cells = cells
        self._assets = assets
        self._activity = activity
        self._clock = clock

    async def assess(self, caller: Principal) -> Dated:
        """Assess the tenant now and store it as today's assessment (the day's last one wins), here and in
        tenancy's copy for the supplier directory (a failure there fails the call: asking again repairs it)."""
        tenant_id = reader_tenant(caller)
        now_ns = self._clock()
        facts = await self._facts(caller, tenant_id, now_ns)
        result = criteria.assess(facts)
        at = datetime.fromtimestamp(now_ns / 1e9, UTC)
        records = [
            {"level": f.level, "name": f.name, "met": f.met, "evidence": f.evidence} for f in result.findings
        ]
        async with self._cells.tenant(tenant_id, caller.cell) as conn:
            await storage.put_assessment(
                conn, tenant_id, at.date(), result.level, records, list(result.next_steps), at
            )
        await self._activity.record_level(tenant_id, at.date(), result.level)
        return Dated(result, at.date(), now_ns)

    async def history(self, caller: Principal, start_ns: int, end_ns: int) -> list[Dated]:
        tenant_id = reader_tenant(caller)
        check_range(start_ns, end_ns)
        if end_ns - start_ns > MAX_HISTORY_DAYS * 24 * HOUR_NS:
            raise InvalidArgument.of(
                "range", f"must be at most {MAX_HISTORY_DAYS} days", reason="RANGE_TOO_LONG"
            )
        start, end = (datetime.fromtimestamp(ns / 1e9, UTC) for ns in (start_ns, end_ns))
        async with self._cells.tenant(tenant_id, caller.cell) as conn:
            rows = await storage.assessments(conn, start, end)
        return [_dated(*row) for row in rows]

    async def _facts(self, caller: Principal, tenant_id: uuid.UUID, now_ns: int) -> Facts:
        now = datetime.fromtimestamp(now_ns / 1e9, UTC)
        assets, (enabled, rules), api_calls = await asyncio.gather(
            self._assets.assets(tenant_id),
            self._activity.alarm_rules(tenant_id),
            self._activity.api_calls(tenant_id, now.date(), criteria.API_WINDOW_DAYS),
        )
        machines = [a.id for a in assets if a.kind == "machine"]
        series = await self._assets.series_of(tenant_id, machines) if machines else []
        since_ns = now_ns - criteria.REPORTING_WINDOW_H * HOUR_NS
        async with self._cells.tenant(tenant_id, caller.cell) as conn:
            recent = await storage.series_reported_since(conn, since_ns)
            calendars, oee_machines = await storage.oee_configuration(conn)
            spc = await storage.spc_events_since(conn, now - timedelta(days=criteria.SPC_WINDOW_DAYS))
            models = await storage.anomaly_models(conn)
        reporting = {s.machine_id for s in series if s.id in recent}
        return Facts(
            machines=len(machines),
            reporting=len(reporting),
            api_calls=api_calls,
            site_calendars=calendars,
            oee_machines=oee_machines,
            alarm_rules=enabled,
            all_alarm_rules=rules,
            spc_events=spc,
            anomaly_models=models,
        )


def _dated(day: date, level: int, records: list[dict], steps: list[str], at: datetime) -> Dated:
    findings = tuple(Finding(r["level"], r["name"], r["met"], r["evidence"]) for r in records)
    return Dated(Assessment(level, findings, tuple(steps)), day, int(at.timestamp() * 10**6) * 1000)
