"""Changing production analytics: a site's shift calendar, a machine's OEE settings, and storing an SPC
chart's violations. Each mutation has a payload twin (`updateSiteCalendar`, `updateMachineOeeSettings`,
`storeSpcEvents`) that answers the caller's mistakes as typed user errors; the older bare ones, kept for
the clients that use them, share the same code and raise those mistakes as GraphQL errors."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from gateway.graphql.payloads import UserError, attempt
from gateway.graphql.permissions import CanConfigureTenant, CanRecordEvents, IsSignedIn
from gateway.graphql.production import (
    MachineOeeSettings,
    MachineOeeSettingsInput,
    RecordedSpcEvents,
    ShiftInput,
    SiteCalendar,
    SpcChartInput,
    SpcEvent,
    unsigned,
)
from sfcloud.v1 import production_pb2 as pb

CONFIGURE = [IsSignedIn, CanConfigureTenant]
RECORD = [IsSignedIn, CanRecordEvents]
PAYLOAD_REASON = ": returns typed user errors."


@strawberry.type(description="A site's calendar as stored, or why it was not.")
class SiteCalendarPayload:
    calendar: SiteCalendar | None = strawberry.field(description="The calendar stored; null on errors.")
    errors: list[UserError] = strawberry.field(
        description="Empty when stored; e.g. INVALID_ARGUMENT (a shift or the time zone), ASSET_NOT_FOUND"
        " (no such site in your tenant)."
    )


@strawberry.type(description="A machine's OEE settings as stored, or why they were not.")
class MachineOeeSettingsPayload:
    settings: MachineOeeSettings | None = strawberry.field(
        description="The settings stored, defaults filled in; null on errors."
    )
    errors: list[UserError] = strawberry.field(
        description="Empty when stored; e.g. SERIES_NOT_FOUND (a series not of the machine), ASSET_NOT_FOUND (no"
        " such machine in your tenant)."
    )


@strawberry.type(description="What storing an SPC chart's violations did, or why it could not.")
class RecordSpcEventsPayload:
    events: RecordedSpcEvents | None = strawberry.field(
        description="The events stored and those stored before; null on errors."
    )
    errors: list[UserError] = strawberry.field(
        description="Empty when the chart was worked; e.g. INVALID_ARGUMENT (range, subgroup, limits),"
        " SERIES_NOT_FOUND (no such series in your tenant)."
    )


async def _save_calendar(
    info: Info, site_id: strawberry.ID, time_zone: str, shifts: list[ShiftInput]
) -> SiteCalendar:
    ctx = info.context
    calendar = pb.SiteCalendar(
        site_id=str(site_id),
        time_zone=time_zone,
        shifts=[
            pb.Shift(
                name=s.name,
                start_minute=unsigned("startMinute", s.start_minute),
                duration_minutes=unsigned("durationMinutes", s.duration_minutes),
            )
            for s in shifts
        ],
    )
    request = pb.SetSiteCalendarRequest(calendar=calendar)
    response = await ctx.backends.call(ctx.backends.production.SetSiteCalendar, request, ctx.principal)
    return SiteCalendar.from_pb(response.calendar)


async def _save_oee_settings(info: Info, input: MachineOeeSettingsInput) -> MachineOeeSettings:
    ctx = info.context
    settings = pb.MachineOeeSettings(
        machine_id=str(input.machine_id),
        ideal_cycle_s=input.ideal_cycle_seconds or 0,
        state_series_id=str(input.state_series_id or ""),
        total_series_id=str(input.total_series_id or ""),
        scrap_series_id=str(input.scrap_series_id or ""),
        run_states=input.run_states or [],
        max_gap_s=unsigned("maxGapSeconds", input.max_gap_seconds or 0),
    )
    request = pb.SetMachineOeeSettingsRequest(settings=settings)
    s = (
        await ctx.backends.call(ctx.backends.production.SetMachineOeeSettings, request, ctx.principal)
    ).settings
    return MachineOeeSettings(
        machine_id=strawberry.ID(s.machine_id),
        ideal_cycle_seconds=s.ideal_cycle_s or None,
        state_series_id=strawberry.ID(s.state_series_id) if s.state_series_id else None,
        total_series_id=strawberry.ID(s.total_series_id) if s.total_series_id else None,
        scrap_series_id=strawberry.ID(s.scrap_series_id) if s.scrap_series_id else None,
        run_states=list(s.run_states),
        max_gap_seconds=s.max_gap_s,
    )


async def _record_violations(info: Info, input: SpcChartInput) -> RecordedSpcEvents:
    ctx = info.context
    request = pb.RecordSpcEventsRequest(chart=input.to_pb())
    response = await ctx.backends.call(ctx.backends.production.RecordSpcEvents, request, ctx.principal)
    return RecordedSpcEvents(
        recorded=[SpcEvent.from_pb(e) for e in response.recorded], already_stored=response.already_stored
    )


@strawberry.type
class ProductionMutation:
    @strawberry.mutation(
        permission_classes=CONFIGURE,
        description="Replace a site's time zone and shifts (owners and admins).",
        deprecation_reason="Use updateSiteCalendar" + PAYLOAD_REASON,
    )
    async def set_site_calendar(
        self, info: Info, site_id: strawberry.ID, time_zone: str, shifts: list[ShiftInput]
    ) -> SiteCalendar:
        return await _save_calendar(info, site_id, time_zone, shifts)

    @strawberry.mutation(
        permission_classes=CONFIGURE,
        description="Replace a site's time zone and shifts (owners and admins); bad input, or a site not in"
        " your tenant, comes back as user errors.",
    )
    async def update_site_calendar(
        self, info: Info, site_id: strawberry.ID, time_zone: str, shifts: list[ShiftInput]
    ) -> SiteCalendarPayload:
        calendar, problems = await attempt(_save_calendar(info, site_id, time_zone, shifts))
        return SiteCalendarPayload(calendar=calendar, errors=problems)

    @strawberry.mutation(
        permission_classes=CONFIGURE,
        description="Replace a machine's OEE settings (owners and admins); answers them with defaults filled in.",
        deprecation_reason="Use updateMachineOeeSettings" + PAYLOAD_REASON,
    )
    async def set_machine_oee_settings(
        self, info: Info, input: MachineOeeSettingsInput
    ) -> MachineOeeSettings:
        return await _save_oee_settings(info, input)

    @strawberry.mutation(
        permission_classes=CONFIGURE,
        description="Replace a machine's OEE settings (owners and admins), answered with defaults filled in;"
        " bad input, or a machine not in your tenant, comes back as user errors.",
    )
    async def update_machine_oee_settings(
        self, info: Info, input: MachineOeeSettingsInput
    ) -> MachineOeeSettingsPayload:
        settings, problems = await attempt(_save_oee_settings(info, input))
        return MachineOeeSettingsPayload(settings=settings, errors=problems)

    @strawberry.mutation(
        permission_classes=RECORD,
        description="Compute an SPC chart and store its violations as events (owners, admins, operators).",
        deprecation_reason="Use storeSpcEvents" + PAYLOAD_REASON,
    )
    async def record_spc_events(self, info: Info, input: SpcChartInput) -> RecordedSpcEvents:
        return await _record_violations(info, input)

    @strawberry.mutation(
        permission_classes=RECORD,
        description="Compute an SPC chart and store its violations as events (owners, admins, operators);"
        " bad input, or a series not in your tenant, comes back as user errors.",
    )
    async def store_spc_events(self, info: Info, input: SpcChartInput) -> RecordSpcEventsPayload:
        events, problems = await attempt(_record_violations(info, input))
        return RecordSpcEventsPayload(events=events, errors=problems)
