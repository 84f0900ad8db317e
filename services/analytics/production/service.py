"""The rules of production analytics: who may read and configure, which assets and series, what input
is acceptable. Points are read through the query engine (``QueryService.stream_points``), so a series
that is not the tenant's is NOT_FOUND exactly as for the query RPCs; assets come from tenancy.

Errors: INVALID_ARGUMENT (bad input, each with a reason), NOT_FOUND (``ASSET_NOT_FOUND``,
``SERIES_NOT_FOUND``: another tenant's ids alike), PERMISSION_DENIED (devices; writes by readers).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from services.analytics.production import calendars, oee, spc, storage
from services.analytics.production.assets import Asset, SeriesInfo
from services.analytics.production.calendars import Calendar, Period, Shift
from services.analytics.production.oee import Figures, MachineData
from services.analytics.service import QueryService, check_range, reader_tenant, time_zone
from services.runtime.errors import InvalidArgument, NotFound
from services.runtime.principal import Principal, Role
from services.runtime.transactions import CellTransactions
from services.runtime.validation import parse_id

DAY_NS = 86_400 * 1_000_000_000
MAX_OEE_DAYS = 31
DEFAULT_GAP_S = 300
MAX_GAP_S = 86_400
MAX_SPC_POINTS = 100_000
MAX_EVENTS = 10_000
MACHINES_AT_ONCE = 4
CONFIGURERS = (Role.OWNER, Role.ADMIN)
RECORDERS = (Role.OWNER, Role.ADMIN, Role.OPERATOR)


class AssetCatalog(Protocol):
    async def assets(self, tenant_id: uuid.UUID) -> list[Asset]: ...

    async def series_of(self, tenant_id: uuid.UUID, machine_ids: list[uuid.UUID]) -> list[SeriesInfo]: ...


@dataclass(frozen=True)
class MachineSetup:
    """A machine's OEE settings as used: stored ones, else the template's and the catalog's."""

    machine_id: uuid.UUID
    ideal_cycle_s: float | None
    state: uuid.UUID | None
    total: uuid.UUID | None
    scrap: uuid.UUID | None
    run_states: tuple[int, ...]
    max_gap_s: int


@dataclass(frozen=True)
class OeeReport:
    time_zone: str
    results: list[tuple[Period, Figures]]  # a day's Period carries the date as its label
    total: Figures
    machines: list[uuid.UUID]
    machine_totals: dict[uuid.UUID, Figures]  # each machine's figures over the whole range


@dataclass(frozen=True)
class SpcRequest:
    series_id: str
    start_ns: int
    end_ns: int
    baseline: tuple[int, int] | None
    chart: str | None  # spc.I_MR or spc.XBAR_R
    subgroup_size: int
    lower_spec: float | None
    upper_spec: float | None
    capability: bool


@dataclass(frozen=True)
class SpcResult:
    chart: spc.Chart
    baseline_points: int
    points: spc.Plotted
    violations: list[tuple[int, int]]  # (index into points, rule)
    cp: float | None
    cpk: float | None


class AlarmReporter(Protocol):
    async def report(self, tenant_id: uuid.UUID, violations: list[tuple]) -> None: ...


class ProductionService:
    def __init__(
        self, cells: CellTransactions, query: QueryService, assets: AssetCatalog, alarms: AlarmReporter
    ) -> None:
        self._cells = cells
        self._query = query
        self._assets = assets
        self._alarms = alarms

    # -- shift calendars ---------------------------------------------------------------------------

    async def set_calendar(self, caller: Principal, site_id: str, zone: str, shifts: list[Shift]) -> Calendar:
        tenant_id = caller.require_role(*CONFIGURERS)
        site = parse_id("calendar.site_id", site_id)
        time_zone(zone)
        checked = calendars.check_shifts(shifts)
        await self._site(tenant_id, site)
        records = [
            {"name": s.name, "start_minute": s.start_minute, "duration_minutes": s.duration_minutes}
            for s in checked
        ]
        async with self._cells.tenant(tenant_id, caller.cell) as conn:
            await storage.put_calendar(conn, tenant_id, site, zone, records)
        return Calendar(zone, checked)

    async def calendar(self, caller: Principal, site_id: str) -> Calendar:
        tenant_id = reader_tenant(caller)
        site = parse_id("site_id", site_id)
        await self._site(tenant_id, site)
        return await self._calendar(caller, tenant_id, site)

    async def _calendar(self, caller: Principal, tenant_id: uuid.UUID, site: uuid.UUID) -> Calendar:
        async with self._cells.tenant(tenant_id, caller.cell) as conn:
            found = await storage.calendar(conn, site)
        if found is None:
            return calendars.DEFAULT
        zone, shifts = found
        return Calendar(
            zone, tuple(Shift(s["name"], s["start_minute"], s["duration_minutes"]) for s in shifts)
        )

    async def _site(self, tenant_id: uuid.UUID, site: uuid.UUID) -> None:
        asset = _find(await self._assets.assets(tenant_id), site)
        if asset.kind != "site":
            raise InvalidArgument.of(
                "site_id", f"asset {site} is a {asset.kind}, not a site", reason="NOT_A_SITE"
            )

    # -- machine settings --------------------------------------------------------------------------

    async def set_machine_settings(self, caller: Principal, settings: MachineSetup) -> MachineSetup:
        tenant_id = caller.require_role(*CONFIGURERS)
        if settings.ideal_cycle_s is not None and not (0 < settings.ideal_cycle_s < 86_400):
            raise InvalidArgument.of(
                "settings.ideal_cycle_s", "must be above 0 and below a day (or 0: the template's)"
            )
        if not 0 < settings.max_gap_s <= MAX_GAP_S:
            raise InvalidArgument.of(
                "settings.max_gap_s", f"must be 1..{MAX_GAP_S} seconds (0: {DEFAULT_GAP_S})"
            )
        machine = _find(await self._assets.assets(tenant_id), settings.machine_id)
        if machine.kind != "machine":
            raise InvalidArgument.of(
                "settings.machine_id",
                f"asset {machine.id} is a {machine.kind}, not a machine",
                reason="NOT_A_MACHINE",
            )
        own = {s.id for s in await self._assets.series_of(tenant_id, [machine.id])}
        for field, series in (
            ("state", settings.state),
            ("total", settings.total),
            ("scrap", settings.scrap),
        ):
            if series is not None and series not in own:
                raise NotFound(
                    f"series {series} not found among the machine's series ({field})",
                    reason="SERIES_NOT_FOUND",
                )
        values = (
            settings.ideal_cycle_s,
            settings.state,
            settings.total,
            settings.scrap,
            list(settings.run_states),
            settings.max_gap_s,
        )
        async with self._cells.tenant(tenant_id, caller.cell) as conn:
            await storage.put_machine_settings(conn, tenant_id, machine.id, values)
        return (await self._setups(caller, tenant_id, [machine]))[0]

    async def _setups(
        self, caller: Principal, tenant_id: uuid.UUID, machines: list[Asset]
    ) -> list[MachineSetup]:
        ids = [m.id for m in machines]
        series = await self._assets.series_of(tenant_id, ids) if ids else []
        async with self._cells.tenant(tenant_id, caller.cell) as conn:
            stored = await storage.machine_settings(conn, ids)
        by_machine: dict[uuid.UUID, list[SeriesInfo]] = defaultdict(list)
        for s in series:
            by_machine[s.machine_id].append(s)
        return [_setup(m, by_machine[m.id], stored.get(m.id)) for m in machines]

    # -- OEE -----------------------------------------------------------------------------------------

    async def oee(
        self, caller: Principal, asset_id: str, start_ns: int, end_ns: int, period: str | None
    ) -> OeeReport:
        tenant_id = reader_tenant(caller)
        target = parse_id("asset_id", asset_id)
        check_range(start_ns, end_ns)
        if end_ns - start_ns > MAX_OEE_DAYS * DAY_NS:
            raise InvalidArgument.of("range", f"must be at most {MAX_OEE_DAYS} days", reason="RANGE_TOO_LONG")
        if period not in ("shift", "day"):
            raise InvalidArgument.of("period", "must be OEE_PERIOD_SHIFT or OEE_PERIOD_DAY")
        tree = await self._assets.assets(tenant_id)
        asset = _find(tree, target)
        machines = machines_under(tree, asset)
        calendar = await self._calendar(caller, tenant_id, _site_of(tree, asset).id)
        shifts = calendars.periods(calendar, start_ns, end_ns, whole_days=period == "day")
        per_shift, machine_totals = await self._shift_figures(caller, tenant_id, machines, shifts)
        results = list(zip(shifts, per_shift, strict=True))
        if period == "day":
            results = _by_day(results)
        total = Figures()
        for _, figures in results:
            total.add(figures)
        return OeeReport(calendar.time_zone, results, total, [m.id for m in machines], machine_totals)

    async def _shift_figures(
        self, caller: Principal, tenant_id: uuid.UUID, machines: list[Asset], shifts: list[Period]
    ) -> tuple[list[Figures], dict[uuid.UUID, Figures]]:
        """Every shift's figures of the machines together, and each machine's over all the shifts."""
        sums = [Figures() for _ in shifts]
        if not shifts or not machines:
            return sums, {}
        edges = np.array([t for p in shifts for t in (p.start_ns, p.end_ns)], dtype=np.int64)
        turns = asyncio.Semaphore(MACHINES_AT_ONCE)

        async def one(setup: MachineSetup) -> list[Figures]:
            async with turns:
                return oee.machine_figures(await self._machine_data(caller, setup, edges), edges)

        setups = await self._setups(caller, tenant_id, machines)
        machine_totals: dict[uuid.UUID, Figures] = {}
        for setup, figures in zip(setups, await asyncio.gather(*(one(s) for s in setups)), strict=True):
            machine_total = machine_totals[setup.machine_id] = Figures()
            for total, part in zip(sums, figures, strict=True):
                total.add(part)
                machine_total.add(part)
        return sums, machine_totals

    async def _machine_data(self, caller: Principal, setup: MachineSetup, edges: np.ndarray) -> MachineData:
        lo, hi = int(edges[0]), int(edges[-1])
        gap_ns = setup.max_gap_s * 1_000_000_000
        states = oee.timeline(*await self._points(caller, setup.state, lo - gap_ns, hi), gap_ns)
        counts = []
        for series in (setup.total, setup.scrap):
            points = await self._points(caller, series, lo - DAY_NS, hi)
            counts.append(oee.increments(*points) if series else oee.NO_COUNTS)
        return MachineData(states, frozenset(setup.run_states), counts[0], counts[1], setup.ideal_cycle_s)

    async def _points(
        self, caller: Principal, series: uuid.UUID | None, lo: int, hi: int, cap: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The points of ``series`` in ``[lo, hi)`` through the query engine (none without a series)."""
        times, values = [np.empty(0, np.int64)], [np.empty(0)]
        if series is not None:
            count = 0
            async for page in self._query.stream_points(caller, str(series), max(lo, 0), hi, 100_000):
                times.append(page.timestamps)
                values.append(page.values)
                count += page.timestamps.size
                if cap is not None and count > cap:
                    raise InvalidArgument.of(
                        "range", f"holds more than {cap:,} points", reason="TOO_MANY_POINTS"
                    )
        return np.concatenate(times), np.concatenate(values)

    # -- SPC -----------------------------------------------------------------------------------------

    async def spc_chart(self, caller: Principal, request: SpcRequest) -> SpcResult:
        reader_tenant(caller)
        series = parse_id("series_id", request.series_id)
        size = _check_spc(request)
        base_lo, base_hi = request.baseline or (request.start_ns, request.end_ns)
        baseline = await self._points(caller, series, base_lo, base_hi, MAX_SPC_POINTS)
        charted = await self._points(caller, series, request.start_ns, request.end_ns, MAX_SPC_POINTS)
        base = spc.plotted(request.chart, size, *_finite(*baseline))
        needed = 2 if request.chart == spc.I_MR else 2 * size
        if base.values.size < 2:
            raise InvalidArgument.of(
                "baseline",
                f"holds {baseline[0].size} points; the chart needs at least {needed}",
                reason="BASELINE_TOO_SHORT",
            )
        chart = spc.limits(request.chart, size, base)
        if not chart.sigma > 0:
            raise InvalidArgument.of(
                "baseline", "its values do not vary (sigma 0): no limits", reason="CONSTANT_BASELINE"
            )
        points = spc.plotted(request.chart, size, *_finite(*charted))
        cp, cpk = (
            spc.capability(chart, request.lower_spec, request.upper_spec)
            if request.capability
            else (None, None)
        )
        return SpcResult(chart, int(base.values.size), points, spc.violations(chart, points.values), cp, cpk)

    async def record_events(self, caller: Principal, request: SpcRequest) -> tuple[list[tuple], int]:
        """Store the chart's violations as events: (the new ones, how many were stored already)."""
        tenant_id = caller.require_role(*RECORDERS)
        result = await self.spc_chart(caller, request)
        chart_code = 1 if request.chart == spc.I_MR else 2
        limits = result.chart.values
        rows = [
            (uuid.UUID(request.series_id), int(result.points.timestamps[i]), rule, float(result.points.values[i]),
             chart_code, _subgroup(request), limits.center, limits.lower, limits.upper)
            for i, rule in result.violations
        ]  # fmt: skip
        async with self._cells.tenant(tenant_id, caller.cell) as conn:
            stored = await storage.insert_events(conn, tenant_id, rows)
        if rows:  # the SPC alarm rules on the series raise (alarm_reports.py)
            await self._alarms.report(tenant_id, rows)
        return stored, len(rows) - len(stored)

    async def events(
        self, caller: Principal, series_id: str, start_ns: int, end_ns: int, limit: int
    ) -> tuple[list[tuple], bool]:
        tenant_id = reader_tenant(caller)
        series = parse_id("series_id", series_id) if series_id else None
        check_range(start_ns, end_ns)
        limit = limit or 1_000
        if not 1 <= limit <= MAX_EVENTS:
            raise InvalidArgument.of("limit", f"must be 1..{MAX_EVENTS:,}")
        if series is not None:
            await self._query.require_series(tenant_id, series)
        async with self._cells.tenant(tenant_id, caller.cell) as conn:
            found = await storage.events(conn, series, start_ns, end_ns, limit + 1)
        return found[:limit], len(found) > limit


def _find(tree: list[Asset], asset_id: uuid.UUID) -> Asset:
    found = next((a for a in tree if a.id == asset_id), None)
    if found is None:
        raise NotFound(f"asset {asset_id} not found", reason="ASSET_NOT_FOUND")
    return found


def machines_under(tree: list[Asset], asset: Asset) -> list[Asset]:
    """The machines at or below ``asset`` (the tree lists parents before children)."""
    inside = {asset.id}
    for a in tree:
        if a.parent_id in inside:
            inside.add(a.id)
    return [a for a in tree if a.id in inside and a.kind == "machine"]


def _site_of(tree: list[Asset], asset: Asset) -> Asset:
    by_id = {a.id: a for a in tree}
    while asset.parent_id is not None and asset.parent_id in by_id:
        asset = by_id[asset.parent_id]
    return asset


def _setup(machine: Asset, series: list[SeriesInfo], stored: tuple | None) -> MachineSetup:
    """Stored settings where given; else the first state series, the counter named ``parts_total`` (or the
    first counter not named like scrap), the counter named like scrap, and the template's ideal cycle."""
    ideal, state, total, scrap, run_states, gap = stored or (None, None, None, None, [], DEFAULT_GAP_S)
    counters = [s for s in series if s.kind == "counter"]
    good = [s for s in counters if "scrap" not in s.name.lower()]
    state = state or next((s.id for s in series if s.kind == "state"), None)
    total = (
        total
        or next((s.id for s in good if s.name == "parts_total"), None)
        or next((s.id for s in good), None)
    )
    scrap = scrap or next((s.id for s in counters if "scrap" in s.name.lower()), None)
    ideal = ideal or machine.ideal_cycle_s or None
    return MachineSetup(machine.id, ideal, state, total, scrap, tuple(run_states) or (1,), gap)


def _by_day(results: list[tuple[Period, Figures]]) -> list[tuple[Period, Figures]]:
    days: dict = {}
    for period, figures in results:
        if period.date not in days:
            days[period.date] = (
                Period(period.start_ns, period.end_ns, period.date.isoformat(), period.date),
                Figures(),
            )
        day, total = days[period.date]
        days[period.date] = (Period(day.start_ns, max(day.end_ns, period.end_ns), day.label, day.date), total)
        total.add(figures)
    return list(days.values())


def _check_spc(request: SpcRequest) -> int:
    """The subgroup size, once every field is acceptable."""
    check_range(request.start_ns, request.end_ns)
    if request.baseline is not None:
        lo, hi = request.baseline
        if hi <= lo:
            raise InvalidArgument.of("baseline", "end_ns must be after start_ns", reason="EMPTY_RANGE")
    if request.chart not in (spc.I_MR, spc.XBAR_R):
        raise InvalidArgument.of("chart", "must be SPC_CHART_KIND_I_MR or SPC_CHART_KIND_XBAR_R")
    size = _subgroup(request)
    if request.chart == spc.XBAR_R and size not in spc.CONSTANTS:
        raise InvalidArgument.of(
            "subgroup_size", "must be 2..10 for an X-bar/R chart", reason="BAD_SUBGROUP_SIZE"
        )
    if request.chart == spc.I_MR and size != 1:
        raise InvalidArgument.of(
            "subgroup_size", "must be 0 or 1 for an I-MR chart", reason="BAD_SUBGROUP_SIZE"
        )
    lower, upper = request.lower_spec, request.upper_spec
    if request.capability and lower is None and upper is None:
        raise InvalidArgument.of(
            "upper_spec",
            "Cp/Cpk need specification limits: give lower_spec and/or upper_spec",
            reason="SPEC_LIMITS_REQUIRED",
        )
    if lower is not None and upper is not None and not lower < upper:
        raise InvalidArgument.of("lower_spec", "must be below upper_spec")
    return size


def _subgroup(request: SpcRequest) -> int:
    return 1 if request.chart == spc.I_MR and request.subgroup_size == 0 else request.subgroup_size


def _finite(times: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = np.isfinite(values)
    return times[keep], values[keep]
