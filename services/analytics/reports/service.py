"""Plant reports: a site's local day or month gathered from the engines that own each part (OEE from
production, anomalies from anomaly detection, the level from its history, alarms from tenancy) and laid
out as PDF or CSV in English or Korean.

Alarms come from tenancy's newest 500 of the tenant (``ListAlarms``): a report of a period further back
than that lists what those hold. A site's alarms are those on its machines' series and those on no
series (a device gone silent).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from services.analytics.anomaly.service import AnomalyService
from services.analytics.level.service import LevelService
from services.analytics.production.assets import Asset
from services.analytics.production.oee import Figures
from services.analytics.production.service import AssetCatalog, ProductionService, machines_under
from services.analytics.reports import render
from services.analytics.reports.content import MAX_LINES, AlarmLine, AnomalyLine, OeeLine, PlantReport
from services.analytics.reports.strings import LANGUAGES, STRINGS
from services.analytics.service import reader_tenant
from services.runtime.errors import InvalidArgument, NotFound
from services.runtime.principal import Principal
from services.runtime.validation import parse_id
from sfcloud.v1 import alarms_pb2

PERIODS = ("day", "month")
FORMATS = {"pdf": ("application/pdf", render.as_pdf), "csv": ("text/csv; charset=utf-8", render.as_csv)}
_SEVERITIES = {
    alarms_pb2.ALARM_SEVERITY_CRITICAL: "critical",
    alarms_pb2.ALARM_SEVERITY_WARNING: "warning",
    alarms_pb2.ALARM_SEVERITY_INFO: "info",
}


class Alarms(Protocol):
    async def alarms(self, caller: Principal) -> list[alarms_pb2.Alarm]: ...


@dataclass(frozen=True)
class ReportFile:
    content: bytes
    content_type: str
    file_name: str


class ReportService:
    def __init__(
        self,
        production: ProductionService,
        anomalies: AnomalyService,
        level: LevelService,
        assets: AssetCatalog,
        alarms: Alarms,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self._production, self._anomalies, self._level = production, anomalies, level
        self._assets, self._alarms, self._clock = assets, alarms, clock

    async def plant_report(
        self, caller: Principal, site_id: str, period: str, day: str, language: str, fmt: str
    ) -> ReportFile:
        tenant_id = reader_tenant(caller)
        language = _choice("language", language or "en", LANGUAGES)
        period = _choice("period", period, PERIODS)
        content_type, draw = FORMATS[_choice("format", fmt, tuple(FORMATS))]
        first, last = _days(period, _date(day))
        site_uuid = parse_id("site_id", site_id)
        tree = await self._assets.assets(tenant_id)
        site = next((a for a in tree if a.id == site_uuid and a.kind == "site"), None)
        if site is None:
            raise NotFound(f"site {site_uuid} not found", reason="ASSET_NOT_FOUND")
        zone = (await self._production.calendar(caller, site_id)).zone
        start_ns, end_ns = _ns(first, zone), _ns(last + timedelta(days=1), zone)
        machines = machines_under(tree, site)
        report = await self._gather(
            caller, tenant_id, site, machines, (start_ns, end_ns), (first, last), zone, language
        )
        name = (
            f"sfcloud-plant-report-{first.isoformat()}{'' if period == 'day' else '-month'}-{language}.{fmt}"
        )
        return ReportFile(draw(report), content_type, name)

    async def _gather(
        self, caller, tenant_id, site: Asset, machines: list[Asset], span, days, zone, language
    ) -> PlantReport:
        w = STRINGS[language]
        start_ns, end_ns = span
        site_oee = await self._production.oee(caller, str(site.id), start_ns, end_ns, "day")
        series = (
            {s.id: s for s in await self._assets.series_of(tenant_id, [m.id for m in machines])}
            if machines
            else {}
        )
        names = {m.id: m.name for m in machines}
        stamp = _stamper(zone)
        alarms = [
            a
            for a in await self._alarms.alarms(caller)
            if start_ns <= a.raised_ns < end_ns and (not a.series_id or uuid.UUID(a.series_id) in series)
        ]
        newest, _ = await self._anomalies.anomalies(caller, "", start_ns, end_ns, 1_000, "")
        anomalies = [a for a in newest if a.machine_id in names]
        history = await self._level.history(caller, start_ns, end_ns)
        counts = {
            key: sum(1 for a in alarms if _SEVERITIES.get(a.severity) == key) for key in _SEVERITIES.values()
        }
        return PlantReport(
            language=language,
            title=w["title_day" if days[0] == days[1] else "title_month"],
            site=site.name,
            time_zone=str(zone),
            first_day=days[0],
            last_day=days[1],
            generated=stamp(self._clock()),
            total=_oee_line(w["all_machines"], site_oee.total),
            machines=[_oee_line(m.name, site_oee.machine_totals.get(m.id, Figures())) for m in machines],
            trend=[(p.date, f.oee) for p, f in site_oee.results],
            alarm_counts=[(w[key], n) for key, n in counts.items()],
            alarms=[
                AlarmLine(
                    stamp(a.raised_ns),
                    w[_SEVERITIES.get(a.severity, "info")],
                    a.rule_name,
                    series[uuid.UUID(a.series_id)].name if a.series_id else w["no_value"],
                    w[alarms_pb2.AlarmState.Name(a.state).removeprefix("ALARM_STATE_")],
                )
                for a in alarms[:MAX_LINES]
            ],
            anomalies=[
                AnomalyLine(
                    names[a.machine_id],
                    stamp(a.start_ns),
                    stamp(a.end_ns) if a.end_ns else w["ongoing"],
                    ", ".join(series[s].name if s in series else str(s) for s in a.series_ids),
                    a.peak_score,
                )
                for a in anomalies[:MAX_LINES]
            ],
            level=history[-1].assessment.level if history else None,
            next_steps=list(history[-1].assessment.next_steps) if history else [],
        )


def _oee_line(name: str, figures: Figures) -> OeeLine:
    return OeeLine(name, figures.availability, figures.performance, figures.quality, figures.oee)


def _choice(field: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise InvalidArgument.of(field, f"must be one of {', '.join(allowed)}")
    return value


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidArgument.of("date", "must be a date like 2026-12-05") from None


def _days(period: str, day: date) -> tuple[date, date]:
    """The first and last (inclusive) local day of the period holding ``day``."""
    if period == "day":
        return day, day
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def _ns(day: date, zone: ZoneInfo) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=zone).timestamp()) * 10**9


def _stamper(zone: ZoneInfo) -> Callable[[int], str]:
    return lambda ns: datetime.fromtimestamp(ns / 1e9, zone).strftime("%Y-%m-%d %H:%M")
