"""gRPC ⇄ domain translation for ProductionService (OEE and SPC)."""

from __future__ import annotations

import uuid

from services.analytics.production import spc
from services.analytics.production.calendars import Calendar, Shift
from services.analytics.production.oee import Figures, label
from services.analytics.production.service import DEFAULT_GAP_S, MachineSetup, ProductionService, SpcRequest
from services.runtime.principal import current_principal
from services.runtime.validation import parse_id
from sfcloud.v1 import production_pb2 as pb
from sfcloud.v1 import production_pb2_grpc

PERIODS = {pb.OEE_PERIOD_SHIFT: "shift", pb.OEE_PERIOD_DAY: "day"}
CHARTS = {pb.SPC_CHART_KIND_I_MR: spc.I_MR, pb.SPC_CHART_KIND_XBAR_R: spc.XBAR_R}


class ProductionHandlers(production_pb2_grpc.ProductionServiceServicer):
    def __init__(self, service: ProductionService) -> None:
        self._service = service

    async def SetSiteCalendar(
        self, request: pb.SetSiteCalendarRequest, context
    ) -> pb.SetSiteCalendarResponse:
        c = request.calendar
        shifts = [Shift(s.name, s.start_minute, s.duration_minutes) for s in c.shifts]
        calendar = await self._service.set_calendar(current_principal(), c.site_id, c.time_zone, shifts)
        return pb.SetSiteCalendarResponse(calendar=calendar_pb(c.site_id, calendar))

    async def GetSiteCalendar(
        self, request: pb.GetSiteCalendarRequest, context
    ) -> pb.GetSiteCalendarResponse:
        calendar = await self._service.calendar(current_principal(), request.site_id)
        return pb.GetSiteCalendarResponse(calendar=calendar_pb(request.site_id, calendar))

    async def SetMachineOeeSettings(
        self, request: pb.SetMachineOeeSettingsRequest, context
    ) -> pb.SetMachineOeeSettingsResponse:
        s = request.settings
        setup = MachineSetup(
            parse_id("settings.machine_id", s.machine_id),
            s.ideal_cycle_s or None,
            _optional_id("settings.state_series_id", s.state_series_id),
            _optional_id("settings.total_series_id", s.total_series_id),
            _optional_id("settings.scrap_series_id", s.scrap_series_id),
            tuple(s.run_states),
            s.max_gap_s or DEFAULT_GAP_S,
        )
        stored = await self._service.set_machine_settings(current_principal(), setup)
        return pb.SetMachineOeeSettingsResponse(
            settings=pb.MachineOeeSettings(
                machine_id=str(stored.machine_id),
                ideal_cycle_s=stored.ideal_cycle_s or 0,
                state_series_id=_text(stored.state),
                total_series_id=_text(stored.total),
                scrap_series_id=_text(stored.scrap),
                run_states=list(stored.run_states),
                max_gap_s=stored.max_gap_s,
            )
        )

    async def GetOee(self, request: pb.GetOeeRequest, context) -> pb.GetOeeResponse:
        report = await self._service.oee(
            current_principal(),
            request.asset_id,
            request.range.start_ns,
            request.range.end_ns,
            PERIODS.get(request.period),
        )
        return pb.GetOeeResponse(
            time_zone=report.time_zone,
            results=[
                pb.OeeResult(
                    start_ns=p.start_ns,
                    end_ns=p.end_ns,
                    label=p.label,
                    date=p.date.isoformat(),
                    figures=figures_pb(f),
                )
                for p, f in report.results
            ],
            total=figures_pb(report.total),
            machine_ids=[str(m) for m in report.machines],
            machines=[
                pb.MachineOee(machine_id=str(m), figures=figures_pb(report.machine_totals.get(m, Figures())))
                for m in report.machines
            ],
        )

    async def SpcChart(self, request: pb.SpcChartRequest, context) -> pb.SpcChartResponse:
        result = await self._service.spc_chart(current_principal(), spc_request(request))
        p = result.points
        response = pb.SpcChartResponse(
            value_limits=limits_pb(result.chart.values),
            range_limits=limits_pb(result.chart.ranges),
            sigma=result.chart.sigma,
            baseline_points=result.baseline_points,
            violations=[
                pb.SpcViolation(timestamp_ns=int(p.timestamps[i]), rule=rule, value=float(p.values[i]))
                for i, rule in result.violations
            ],
        )
        add = response.points.add
        for ts, value, spread in zip(
            p.timestamps.tolist(), p.values.tolist(), p.ranges.tolist(), strict=True
        ):
            point = add(timestamp_ns=ts, value=value)
            if spread == spread:  # not NaN: the first individual has no moving range
                point.range = spread
        if result.cp is not None:
            response.cp = result.cp
        if result.cpk is not None:
            response.cpk = result.cpk
        return response

    async def RecordSpcEvents(
        self, request: pb.RecordSpcEventsRequest, context
    ) -> pb.RecordSpcEventsResponse:
        stored, already = await self._service.record_events(current_principal(), spc_request(request.chart))
        return pb.RecordSpcEventsResponse(recorded=[event_pb(e) for e in stored], already_stored=already)

    async def ListSpcEvents(self, request: pb.ListSpcEventsRequest, context) -> pb.ListSpcEventsResponse:
        found, more = await self._service.events(
            current_principal(),
            request.series_id,
            request.range.start_ns,
            request.range.end_ns,
            request.limit,
        )
        return pb.ListSpcEventsResponse(events=[event_pb(e) for e in found], has_more=more)


def _optional_id(field: str, value: str) -> uuid.UUID | None:
    return parse_id(field, value) if value else None


def _text(value: uuid.UUID | None) -> str:
    return str(value) if value else ""


def calendar_pb(site_id: str, calendar: Calendar) -> pb.SiteCalendar:
    return pb.SiteCalendar(
        site_id=site_id,
        time_zone=calendar.time_zone,
        shifts=[
            pb.Shift(name=s.name, start_minute=s.start_minute, duration_minutes=s.duration_minutes)
            for s in calendar.shifts
        ],
    )


def figures_pb(f: Figures) -> pb.OeeFigures:
    message = pb.OeeFigures(
        planned_s=f.planned_s,
        run_s=f.run_s,
        ideal_s=f.ideal_s or 0.0,
        total_count=f.total,
        scrap_count=f.scrap,
        good_count=f.good,
        downtime=[
            pb.Downtime(label=label(state), seconds=seconds, **({} if state is None else {"state": state}))
            for state, seconds in sorted(f.downtime.items(), key=lambda item: -item[1])
        ],
        speed_loss_s=f.speed_loss_s,
        scrap_loss_s=f.scrap_loss_s,
    )
    for name in ("availability", "performance", "quality", "oee"):
        value = getattr(f, name)
        if value is not None:
            setattr(message, name, value)
    return message


def limits_pb(limits: spc.Limits) -> pb.ControlLimits:
    return pb.ControlLimits(center=limits.center, lower=limits.lower, upper=limits.upper)


def spc_request(r: pb.SpcChartRequest) -> SpcRequest:
    return SpcRequest(
        series_id=r.series_id,
        start_ns=r.range.start_ns,
        end_ns=r.range.end_ns,
        baseline=(r.baseline.start_ns, r.baseline.end_ns) if r.HasField("baseline") else None,
        chart=CHARTS.get(r.chart),
        subgroup_size=r.subgroup_size,
        lower_spec=r.lower_spec if r.HasField("lower_spec") else None,
        upper_spec=r.upper_spec if r.HasField("upper_spec") else None,
        capability=r.capability,
    )


def event_pb(row: tuple) -> pb.SpcEvent:
    event_id, series, ts, rule, value, chart, n, center, lower, upper, recorded = row
    return pb.SpcEvent(
        id=str(event_id),
        series_id=str(series),
        timestamp_ns=ts,
        rule=rule,
        value=value,
        chart=chart,
        subgroup_size=n,
        value_limits=pb.ControlLimits(center=center, lower=lower, upper=upper),
        recorded_ns=recorded,
    )
