"""The tenant's alarms: listed and read by its readers, acknowledged, cleared and commented by its people,
and an `alarms` subscription of changes (docs/ANALYTICS.md, "Alarms"). Tenancy checks the roles."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from gateway.graphql.alarm_types import Alarm, AlarmChange, AlarmDetail, AlarmEvent, AlarmSeverity, AlarmState
from gateway.graphql.live import EventQueue
from gateway.graphql.paging import PageInfo, checked_first, page_info_from
from gateway.graphql.payloads import UserError, attempt
from gateway.graphql.permissions import CanReadTenant, IsSignedIn, IsTenantUser
from gateway.graphql.telemetry import After
from services.runtime import errors
from services.runtime.alarm_feed import publish_change
from services.runtime.keys import alarm_channel
from sfcloud.v1 import alarms_pb2 as pb


@strawberry.type(description="A page of the tenant's alarms, newest first.")
class AlarmConnection:
    nodes: list[Alarm]
    page_info: PageInfo


@strawberry.type(description="An alarm after an acknowledgement, clearing or comment, or why it was refused.")
class AlarmPayload:
    alarm: Alarm | None = strawberry.field(description="The alarm as it is now; null when refused.")
    errors: list[UserError] = strawberry.field(description="Empty when it was done.")


async def _detail(info: Info, alarm_id: str) -> pb.GetAlarmResponse:
    ctx = info.context
    return await ctx.backends.call(
        ctx.backends.alarms.GetAlarm, pb.GetAlarmRequest(alarm_id=alarm_id), ctx.principal
    )


async def _alarm_page(
    info: Info,
    states: list[AlarmState] | None,
    severities: list[AlarmSeverity] | None,
    size: int,
    token: str,
) -> pb.ListAlarmsResponse:
    ctx = info.context
    request = pb.ListAlarmsRequest(
        states=[s.value for s in states or []],
        severities=[s.value for s in severities or []],
        limit=size,
        page_token=token,
    )
    return await ctx.backends.call(ctx.backends.alarms.ListAlarms, request, ctx.principal)


@strawberry.type
class AlarmQuery:
    @strawberry.field(
        permission_classes=[IsSignedIn, CanReadTenant],
        description="The tenant's alarms, newest first; optionally only some states and severities.",
        deprecation_reason="Use alarmsConnection: a cursor connection.",
    )
    async def alarms(
        self,
        info: Info,
        states: list[AlarmState] | None = None,
        severities: list[AlarmSeverity] | None = None,
        limit: int = 100,
    ) -> list[Alarm]:
        response = await _alarm_page(info, states, severities, min(max(limit, 1), 500), "")
        return [Alarm.from_pb(a) for a in response.alarms]

    @strawberry.field(
        permission_classes=[IsSignedIn, CanReadTenant],
        description="The tenant's alarms, newest first, a page at a time; optionally only some states and"
        " severities.",
    )
    async def alarms_connection(
        self,
        info: Info,
        states: list[AlarmState] | None = None,
        severities: list[AlarmSeverity] | None = None,
        first: int = 50,
        after: After = None,
    ) -> AlarmConnection:
        response = await _alarm_page(info, states, severities, checked_first(first), after or "")
        return AlarmConnection(
            nodes=[Alarm.from_pb(a) for a in response.alarms],
            page_info=page_info_from(response.next_page_token),
        )

    @strawberry.field(
        permission_classes=[IsSignedIn, CanReadTenant], description="One alarm and who did what to it, when."
    )
    async def alarm(self, info: Info, id: strawberry.ID) -> AlarmDetail:
        found = await _detail(info, str(id))
        history = [
            AlarmEvent(at=e.at_ns, action=e.action, actor=e.actor, comment=e.comment) for e in found.events
        ]
        return AlarmDetail(alarm=Alarm.from_pb(found.alarm), history=history)


async def _act(info: Info, method: str, request, event: str | None) -> AlarmPayload:
    ctx = info.context
    done, problems = await attempt(
        ctx.backends.call(getattr(ctx.backends.alarms, method), request, ctx.principal)
    )
    if done is None:
        return AlarmPayload(alarm=None, errors=problems)
    if event:  # subscribers hear of it (best effort: the change is stored either way)
        await publish_change(ctx.redis, ctx.principal.require_tenant(), event, done.alarm.id)
    return AlarmPayload(alarm=Alarm.from_pb(done.alarm), errors=[])


@strawberry.type
class AlarmMutation:
    @strawberry.mutation(
        permission_classes=[IsTenantUser],
        description="Acknowledge a raised alarm (owners, admins, operators).",
    )
    async def acknowledge_alarm(self, info: Info, id: strawberry.ID, comment: str = "") -> AlarmPayload:
        request = pb.AcknowledgeAlarmRequest(alarm_id=str(id), comment=comment)
        return await _act(info, "AcknowledgeAlarm", request, "acknowledged")

    @strawberry.mutation(
        permission_classes=[IsTenantUser],
        description="Clear a raised or acknowledged alarm by hand (owners, admins, operators).",
    )
    async def clear_alarm(self, info: Info, id: strawberry.ID, comment: str = "") -> AlarmPayload:
        return await _act(
            info, "ClearAlarm", pb.ClearAlarmRequest(alarm_id=str(id), comment=comment), "cleared"
        )

    @strawberry.mutation(permission_classes=[IsTenantUser], description="Comment on an alarm, in any state.")
    async def comment_alarm(self, info: Info, id: strawberry.ID, comment: str) -> AlarmPayload:
        return await _act(
            info, "CommentAlarm", pb.CommentAlarmRequest(alarm_id=str(id), comment=comment), None
        )


@strawberry.type
class AlarmSubscription:
    @strawberry.subscription(
        permission_classes=[IsSignedIn, CanReadTenant],
        description="The tenant's alarms as they are raised, acknowledged and cleared.",
    )
    async def alarms(self, info: Info) -> AsyncGenerator[AlarmChange, None]:
        ctx = info.context
        changes = EventQueue()
        async with ctx.hub.listening(alarm_channel(ctx.principal.require_tenant()), changes):
            while True:
                change, _ = await changes.take()
                try:
                    found = await _detail(info, change["alarm_id"])
                except errors.NotFound:
                    continue
                yield AlarmChange(event=change["event"], alarm=Alarm.from_pb(found.alarm))
