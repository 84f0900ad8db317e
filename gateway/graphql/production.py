"""Production analytics: OEE per machine, line or site per shift or day (with losses and the daily trend),
shift calendars, machine OEE settings, SPC charts and their stored violations (docs/ANALYTICS.md); the
mutations that change them are in `production_mutations.py`."""

from __future__ import annotations

import enum
from typing import Annotated

import strawberry
from strawberry.types import Info

from gateway.graphql.assets import finite
from gateway.graphql.permissions import CanReadTenant, IsSignedIn
from gateway.graphql.scalars import Timestamp
from gateway.graphql.telemetry import From, _range
from services.runtime import errors
from sfcloud.v1 import common_pb2
from sfcloud.v1 import production_pb2 as pb


@strawberry.enum(description="How OEE results are grouped.")
class OeePeriod(enum.Enum):
    SHIFT = pb.OEE_PERIOD_SHIFT
    DAY = pb.OEE_PERIOD_DAY


@strawberry.type(description="Planned time lost while not running, in one state or unknown.")
class Downtime:
    state: int | None = strawberry.field(description="The state value; null for unknown time (no sample).")
    label: str = strawberry.field(description="IDLE, DOWN (the templates' states), STATE n, or UNKNOWN.")
    seconds: float = strawberry.field(description="Seconds in this state within planned time.")


def _fraction(message, name: str) -> float | None:
    return getattr(message, name) if message.HasField(name) else None


@strawberry.type(description="OEE and its parts over some planned time (one machine, or several summed).")
class OeeFigures:
    planned_seconds: float = strawberry.field(description="Planned production time: the shifts' length.")
    run_seconds: float = strawberry.field(description="Time in a running state.")
    ideal_seconds: float = strawberry.field(description="Ideal cycle time x parts counted.")
    total_count: float = strawberry.field(description="Parts counted.")
    scrap_count: float = strawberry.field(description="Parts scrapped.")
    good_count: float = strawberry.field(description="Parts counted less scrap.")
    availability: float | None = strawberry.field(
        description="Run / planned time; null without planned time."
    )
    performance: float | None = strawberry.field(
        description="Ideal time / run time; null without run time or an ideal cycle time."
    )
    quality: float | None = strawberry.field(description="Good / counted parts; null without parts.")
    oee: float | None = strawberry.field(description="Availability x performance x quality.")
    downtime: list[Downtime] = strawberry.field(description="Non-running time by state, the largest first.")
    speed_loss_seconds: float = strawberry.field(description="Run time not explained by the parts made.")
    scrap_loss_seconds: float = strawberry.field(description="Ideal time spent on scrapped parts.")

    @classmethod
    def from_pb(cls, f: pb.OeeFigures) -> OeeFigures:
        return cls(
            planned_seconds=f.planned_s,
            run_seconds=f.run_s,
            ideal_seconds=f.ideal_s,
            total_count=f.total_count,
            scrap_count=f.scrap_count,
            good_count=f.good_count,
            availability=_fraction(f, "availability"),
            performance=_fraction(f, "performance"),
            quality=_fraction(f, "quality"),
            oee=_fraction(f, "oee"),
            downtime=[
                Downtime(state=d.state if d.HasField("state") else None, label=d.label, seconds=d.seconds)
                for d in f.downtime
            ],
            speed_loss_seconds=f.speed_loss_s,
            scrap_loss_seconds=f.scrap_loss_s,
        )


@strawberry.type(description="OEE of one shift or one production day.")
class OeeResult:
    start: Timestamp = strawberry.field(description="Start of the shift (of the day's first shift).")
    end: Timestamp = strawberry.field(description="End of the shift (of the day's last shift).")
    label: str = strawberry.field(description="The shift's name, or the date for a day.")
    date: str = strawberry.field(description="The production date (local, YYYY-MM-DD) it belongs to.")
    figures: OeeFigures = strawberry.field(description="The OEE figures.")


@strawberry.type(description="One machine's OEE over a whole report's range.")
class MachineOee:
    machine_id: strawberry.ID = strawberry.field(description="The machine.")
    figures: OeeFigures = strawberry.field(description="Its figures over the report's range.")


@strawberry.type(description="OEE per shift or per day over a range; per day it is the trend.")
class OeeReport:
    time_zone: str = strawberry.field(description="The site's time zone the shifts and days are in.")
    results: list[OeeResult] = strawberry.field(description="One per shift or day, in time order.")
    total: OeeFigures = strawberry.field(description="All results together.")
    machine_ids: list[strawberry.ID] = strawberry.field(description="The machines counted.")
    machines: list[MachineOee] = strawberry.field(
        description="Each machine's figures over the whole range, in the order of machineIds."
    )


@strawberry.type(description="One shift, repeated every day in the site's time zone.")
class Shift:
    name: str = strawberry.field(description="The shift's name, unique in the calendar.")
    start_minute: int = strawberry.field(description="Local start, minutes after midnight (0..1439).")
    duration_minutes: int = strawberry.field(description="Wall-clock length in minutes (1..1440).")


@strawberry.input(description="One shift of a calendar.")
class ShiftInput:
    name: str = strawberry.field(description="The shift's name, unique in the calendar.")
    start_minute: int = strawberry.field(description="Local start, minutes after midnight (0..1439).")
    duration_minutes: int = strawberry.field(description="Wall-clock length in minutes (1..1440).")


@strawberry.type(description="A site's time zone and shifts (a site without one: one 24-hour UTC shift).")
class SiteCalendar:
    site_id: strawberry.ID = strawberry.field(description="The site.")
    time_zone: str = strawberry.field(description="IANA time zone, e.g. Europe/Berlin.")
    shifts: list[Shift] = strawberry.field(description="The shifts in order of their start.")

    @classmethod
    def from_pb(cls, c: pb.SiteCalendar) -> SiteCalendar:
        shifts = [
            Shift(name=s.name, start_minute=s.start_minute, duration_minutes=s.duration_minutes)
            for s in c.shifts
        ]
        return cls(site_id=strawberry.ID(c.site_id), time_zone=c.time_zone, shifts=shifts)


@strawberry.type(description="How OEE reads a machine.")
class MachineOeeSettings:
    machine_id: strawberry.ID = strawberry.field(description="The machine.")
    ideal_cycle_seconds: float | None = strawberry.field(description="Seconds per part at full speed.")
    state_series_id: strawberry.ID | None = strawberry.field(description="The machine-state series.")
    total_series_id: strawberry.ID | None = strawberry.field(description="The part counter.")
    scrap_series_id: strawberry.ID | None = strawberry.field(description="The scrap counter.")
    run_states: list[int] = strawberry.field(description="State values that mean running.")
    max_gap_seconds: int = strawberry.field(description="How long a state sample holds at most.")


@strawberry.input(description="A machine's OEE settings; omitted values take their defaults.")
class MachineOeeSettingsInput:
    machine_id: strawberry.ID = strawberry.field(description="The machine.")
    ideal_cycle_seconds: float | None = strawberry.field(
        default=None, description="Seconds per part at full speed; null: the template's."
    )
    state_series_id: strawberry.ID | None = strawberry.field(
        default=None, description="The state series; null: the machine's series of kind state."
    )
    total_series_id: strawberry.ID | None = strawberry.field(
        default=None, description="The part counter; null: its counter parts_total (or first non-scrap)."
    )
    scrap_series_id: strawberry.ID | None = strawberry.field(
        default=None, description="The scrap counter; null: its counter named like scrap."
    )
    run_states: list[int] | None = strawberry.field(default=None, description="Running states; null: [1].")
    max_gap_seconds: int | None = strawberry.field(default=None, description="State hold cap; null: 300.")


@strawberry.enum(description="The kind of SPC chart.")
class SpcChartKind(enum.Enum):
    I_MR = pb.SPC_CHART_KIND_I_MR
    XBAR_R = pb.SPC_CHART_KIND_XBAR_R


@strawberry.type(description="Centre line and control limits.")
class ControlLimits:
    center: float = strawberry.field(description="The centre line.")
    lower: float = strawberry.field(description="The lower control limit.")
    upper: float = strawberry.field(description="The upper control limit.")

    @classmethod
    def from_pb(cls, c: pb.ControlLimits) -> ControlLimits:
        return cls(center=c.center, lower=c.lower, upper=c.upper)


@strawberry.type(description="One charted point: an individual or a subgroup mean, with its range.")
class SpcPoint:
    at: Timestamp = strawberry.field(description="The point's time (a subgroup's last point's).")
    value: float = strawberry.field(description="The individual value or the subgroup mean.")
    range: float | None = strawberry.field(description="Moving range or subgroup range; null for the first.")


@strawberry.type(description="A Western Electric rule broken at a point.")
class SpcViolation:
    at: Timestamp = strawberry.field(description="The point that completes the pattern.")
    rule: int = strawberry.field(
        description="1: beyond 3 sigma; 2: two of three beyond 2 sigma on one side; 3: four of five beyond 1 sigma on"
        " one side; 4: eight in a row on one side of the centre."
    )
    value: float = strawberry.field(description="The point's value.")


@strawberry.type(description="An SPC chart of one series, its limits from the baseline.")
class SpcChart:
    value_limits: ControlLimits = strawberry.field(description="Limits of the individuals or means.")
    range_limits: ControlLimits = strawberry.field(description="Limits of the moving or subgroup ranges.")
    sigma: float = strawberry.field(description="Process sigma from the baseline (mean range / d2).")
    baseline_points: int = strawberry.field(description="Points (or subgroups) in the baseline.")
    points: list[SpcPoint] = strawberry.field(description="The charted points in time order.")
    violations: list[SpcViolation] = strawberry.field(description="Rule violations, in time order.")
    cp: float | None = strawberry.field(description="Cp (asked for, and both spec limits given).")
    cpk: float | None = strawberry.field(description="Cpk (asked for with at least one spec limit).")


@strawberry.type(description="A stored SPC violation, what alarm rules consume.")
class SpcEvent:
    id: strawberry.ID = strawberry.field(description="The event.")
    series_id: strawberry.ID = strawberry.field(description="The series charted.")
    at: Timestamp = strawberry.field(description="The violating point's time.")
    rule: int = strawberry.field(description="The Western Electric rule (1 to 4).")
    value: float = strawberry.field(description="The point's value.")
    chart: SpcChartKind = strawberry.field(description="The chart it was found on.")
    subgroup_size: int = strawberry.field(description="1 for individuals.")
    value_limits: ControlLimits = strawberry.field(description="The limits it was judged against.")
    recorded_at: Timestamp = strawberry.field(description="When it was stored.")

    @classmethod
    def from_pb(cls, e: pb.SpcEvent) -> SpcEvent:
        return cls(
            id=strawberry.ID(e.id),
            series_id=strawberry.ID(e.series_id),
            at=e.timestamp_ns,
            rule=e.rule,
            value=e.value,
            chart=SpcChartKind(e.chart),
            subgroup_size=e.subgroup_size,
            value_limits=ControlLimits.from_pb(e.value_limits),
            recorded_at=e.recorded_ns,
        )


@strawberry.type(description="Stored SPC events, oldest first.")
class SpcEventPage:
    events: list[SpcEvent] = strawberry.field(description="The events.")
    has_more: bool = strawberry.field(description="True when more events lie in the range.")


@strawberry.type(description="What recording a chart's violations stored.")
class RecordedSpcEvents:
    recorded: list[SpcEvent] = strawberry.field(description="The new events.")
    already_stored: int = strawberry.field(description="Violations stored before (not stored again).")


@strawberry.input(description="Which SPC chart: series, range, baseline, kind, specification limits.")
class SpcChartInput:
    series_id: strawberry.ID = strawberry.field(description="The quality characteristic's series.")
    from_: Timestamp = strawberry.field(name="from", description="Start of the charted range (inclusive).")
    to: Timestamp = strawberry.field(description="End of the charted range (exclusive).")
    chart: SpcChartKind = strawberry.field(description="I_MR or XBAR_R.")
    subgroup_size: int = strawberry.field(default=0, description="XBAR_R: 2..10; I_MR: 0 or 1.")
    baseline_from: Timestamp | None = strawberry.field(
        default=None, description="Start of the baseline the limits come from; null: the charted range."
    )
    baseline_to: Timestamp | None = strawberry.field(default=None, description="End of the baseline.")
    lower_spec: float | None = strawberry.field(default=None, description="Lower specification limit.")
    upper_spec: float | None = strawberry.field(default=None, description="Upper specification limit.")
    capability: bool = strawberry.field(
        default=False, description="Ask for Cp/Cpk (refused without specification limits)."
    )

    def to_pb(self) -> pb.SpcChartRequest:
        request = pb.SpcChartRequest(
            series_id=str(self.series_id),
            range=_range(self.from_, self.to),
            chart=self.chart.value,
            subgroup_size=unsigned("subgroupSize", self.subgroup_size),
            capability=self.capability,
        )
        if self.baseline_from is not None or self.baseline_to is not None:
            request.baseline.CopyFrom(
                common_pb2.TimeRange(start_ns=self.baseline_from or 0, end_ns=self.baseline_to or 0)
            )
        if self.lower_spec is not None:
            request.lower_spec = self.lower_spec
        if self.upper_spec is not None:
            request.upper_spec = self.upper_spec
        return request


def _chart(response: pb.SpcChartResponse) -> SpcChart:
    return SpcChart(
        value_limits=ControlLimits.from_pb(response.value_limits),
        range_limits=ControlLimits.from_pb(response.range_limits),
        sigma=response.sigma,
        baseline_points=response.baseline_points,
        points=[
            SpcPoint(at=p.timestamp_ns, value=p.value, range=p.range if p.HasField("range") else None)
            for p in response.points
        ],
        violations=[SpcViolation(at=v.timestamp_ns, rule=v.rule, value=v.value) for v in response.violations],
        cp=finite(response.cp) if response.HasField("cp") else None,
        cpk=finite(response.cpk) if response.HasField("cpk") else None,
    )


READ = [IsSignedIn, CanReadTenant]


def unsigned(name: str, value: int) -> int:
    """The gRPC fields are unsigned: a negative number is the caller's mistake, said so (a user error in
    a payload, BAD_USER_INPUT elsewhere)."""
    if value < 0:
        raise errors.InvalidArgument.of(name, "must not be negative")
    return value


@strawberry.type
class ProductionQuery:
    @strawberry.field(
        permission_classes=READ,
        description="OEE of a machine, line, area or site per shift or per production day (the trend), in"
        " the site's time zone, with downtime by state, speed and scrap loss. At most 31 days.",
    )
    async def oee(
        self, info: Info, asset_id: strawberry.ID, from_: From, to: Timestamp, by: OeePeriod = OeePeriod.DAY
    ) -> OeeReport:
        ctx = info.context
        request = pb.GetOeeRequest(asset_id=str(asset_id), range=_range(from_, to), period=by.value)
        r = await ctx.backends.call(ctx.backends.production.GetOee, request, ctx.principal)
        results = [
            OeeResult(
                start=x.start_ns,
                end=x.end_ns,
                label=x.label,
                date=x.date,
                figures=OeeFigures.from_pb(x.figures),
            )
            for x in r.results
        ]
        return OeeReport(
            time_zone=r.time_zone,
            results=results,
            total=OeeFigures.from_pb(r.total),
            machine_ids=[strawberry.ID(m) for m in r.machine_ids],
            machines=[
                MachineOee(machine_id=strawberry.ID(m.machine_id), figures=OeeFigures.from_pb(m.figures))
                for m in r.machines
            ],
        )

    @strawberry.field(permission_classes=READ, description="A site's shift calendar and time zone.")
    async def site_calendar(self, info: Info, site_id: strawberry.ID) -> SiteCalendar:
        ctx = info.context
        request = pb.GetSiteCalendarRequest(site_id=str(site_id))
        response = await ctx.backends.call(ctx.backends.production.GetSiteCalendar, request, ctx.principal)
        return SiteCalendar.from_pb(response.calendar)

    @strawberry.field(
        permission_classes=READ,
        description="An SPC chart (I-MR or X̄-R) of a series: limits from the baseline, Western Electric"
        " violations, and Cp/Cpk when asked for with specification limits.",
    )
    async def spc_chart(self, info: Info, input: SpcChartInput) -> SpcChart:
        ctx = info.context
        response = await ctx.backends.call(ctx.backends.production.SpcChart, input.to_pb(), ctx.principal)
        return _chart(response)

    @strawberry.field(permission_classes=READ, description="Stored SPC events in [from, to), oldest first.")
    async def spc_events(
        self,
        info: Info,
        from_: From,
        to: Timestamp,
        series_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="One series' events; null: all.")
        ] = None,
        first: Annotated[
            int, strawberry.argument(description="At most this many events (1 to 10,000).")
        ] = 100,
    ) -> SpcEventPage:
        ctx = info.context
        request = pb.ListSpcEventsRequest(
            series_id=str(series_id or ""), range=_range(from_, to), limit=unsigned("first", first)
        )
        response = await ctx.backends.call(ctx.backends.production.ListSpcEvents, request, ctx.principal)
        return SpcEventPage(events=[SpcEvent.from_pb(e) for e in response.events], has_more=response.has_more)
