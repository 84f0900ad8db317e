"""After-service tickets (docs/SUPPORT.md): a tenant opens one to its supplier with a diagnostic snapshot;
both sides comment and move it through open → in progress → waiting on customer → resolved → closed;
response and resolution are timed against the plan's service level. Tenancy checks roles and sides; a
ticket that is not the caller's (another tenant's, another supplier's) is NOT_FOUND."""

from __future__ import annotations

import enum

import strawberry
from strawberry.types import Info

from gateway.graphql.paging import PageInfo, checked_first, page_info_from
from gateway.graphql.payloads import UserError, attempt
from gateway.graphql.permissions import CanReadTickets, IsPerson, IsTenantUser
from gateway.graphql.scalars import Timestamp
from gateway.graphql.telemetry import After
from sfcloud.v1 import tickets_pb2 as pb


@strawberry.enum(description="Where a ticket is in its flow.")
class TicketStatus(enum.Enum):
    OPEN = pb.TICKET_STATUS_OPEN
    IN_PROGRESS = pb.TICKET_STATUS_IN_PROGRESS
    WAITING_ON_CUSTOMER = pb.TICKET_STATUS_WAITING_ON_CUSTOMER
    RESOLVED = pb.TICKET_STATUS_RESOLVED
    CLOSED = pb.TICKET_STATUS_CLOSED


@strawberry.type(description="A ticket: what was asked, where it stands, and its times against the plan.")
class Ticket:
    id: strawberry.ID
    tenant_id: strawberry.ID
    supplier_id: strawberry.ID
    subject: str
    body: str
    status: TicketStatus
    opened_by: str
    created_at: Timestamp
    first_response_at: Timestamp | None = strawberry.field(
        description="The supplier's first comment or move."
    )
    resolved_at: Timestamp | None
    closed_at: Timestamp | None
    response_due_at: Timestamp | None = strawberry.field(description="From the plan; null when it has none.")
    resolution_due_at: Timestamp | None
    response_breached: bool = strawberry.field(description="The first response came (or is) past due.")
    resolution_breached: bool = strawberry.field(description="The resolution came (or is) past due.")

    @classmethod
    def from_pb(cls, t: pb.Ticket) -> Ticket:
        return cls(
            id=strawberry.ID(t.id),
            tenant_id=strawberry.ID(t.tenant_id),
            supplier_id=strawberry.ID(t.supplier_id),
            subject=t.subject,
            body=t.body,
            status=TicketStatus(t.status),
            opened_by=t.opened_by,
            created_at=t.created_ns,
            first_response_at=t.first_response_ns or None,
            resolved_at=t.resolved_ns or None,
            closed_at=t.closed_ns or None,
            response_due_at=t.response_due_ns or None,
            resolution_due_at=t.resolution_due_ns or None,
            response_breached=t.response_breached,
            resolution_breached=t.resolution_breached,
        )


@strawberry.type(description="A device when the ticket was opened; counts are totals since registration.")
class DeviceDiagnosis:
    device_id: strawberry.ID
    name: str
    revoked: bool
    last_batch_at: Timestamp | None
    last_point_at: Timestamp | None = strawberry.field(description="Its newest point's time (last seen).")
    stored_batches: int
    refused_batches: int
    points: int
    conflicts: int
    last_refusal_reason: str | None


@strawberry.type(description="An alarm raised in the 7 days before the ticket.")
class AlarmDiagnosis:
    alarm_id: strawberry.ID
    rule_name: str
    kind: str
    severity: str
    state: str = strawberry.field(description="Its state when the ticket was opened.")
    raised_at: Timestamp


@strawberry.type(description="The tenant's state, taken automatically when the ticket was opened.")
class TicketSnapshot:
    taken_at: Timestamp
    devices: list[DeviceDiagnosis]
    ingest_error_rate: float = strawberry.field(description="Refused ÷ (stored + refused) batches.")
    conflict_rate: float = strawberry.field(description="Conflicting ÷ (stored + conflicting) points.")
    recent_alarms: list[AlarmDiagnosis]
    telemetry_unavailable: str | None = strawberry.field(
        description="Why last-seen times and counts are missing, when they could not be read."
    )

    @classmethod
    def from_pb(cls, s: pb.TicketSnapshot) -> TicketSnapshot:
        devices = [
            DeviceDiagnosis(
                device_id=strawberry.ID(d.device_id),
                name=d.name,
                revoked=d.revoked,
                last_batch_at=d.last_batch_ns or None,
                last_point_at=d.last_point_ns or None,
                stored_batches=d.stored_batches,
                refused_batches=d.refused_batches,
                points=d.points,
                conflicts=d.conflicts,
                last_refusal_reason=d.last_refusal_reason or None,
            )
            for d in s.devices
        ]
        alarms = [
            AlarmDiagnosis(
                alarm_id=strawberry.ID(a.alarm_id),
                rule_name=a.rule_name,
                kind=a.kind,
                severity=a.severity,
                state=a.state,
                raised_at=a.raised_ns,
            )
            for a in s.recent_alarms
        ]
        return cls(
            taken_at=s.taken_ns,
            devices=devices,
            ingest_error_rate=s.ingest_error_rate,
            conflict_rate=s.conflict_rate,
            recent_alarms=alarms,
            telemetry_unavailable=s.telemetry_unavailable or None,
        )


@strawberry.type(description="A comment or a move of a ticket.")
class TicketEvent:
    at: Timestamp
    actor: str = strawberry.field(description='"user:<id>".')
    side: str = strawberry.field(description="customer or supplier.")
    kind: str = strawberry.field(description="opened, comment or status.")
    body: str
    from_status: TicketStatus | None
    to_status: TicketStatus | None


@strawberry.type(description="A ticket with its snapshot and history.")
class TicketDetail:
    ticket: Ticket
    snapshot: TicketSnapshot
    history: list[TicketEvent] = strawberry.field(description="Oldest first.")


@strawberry.type(description="A ticket after it was opened, commented or moved, or why that was refused.")
class TicketPayload:
    ticket: Ticket | None
    snapshot: TicketSnapshot | None = strawberry.field(description="Only when the ticket was just opened.")
    errors: list[UserError] = strawberry.field(
        description="Empty when done; e.g. BAD_TRANSITION, TICKET_NOT_FOUND, NO_SUPPLIER, INVALID_ARGUMENT."
    )


async def _act(info: Info, method: str, request, *, opened: bool = False) -> TicketPayload:
    ctx = info.context
    done, problems = await attempt(
        ctx.backends.call(getattr(ctx.backends.tickets, method), request, ctx.principal)
    )
    if done is None:
        return TicketPayload(ticket=None, snapshot=None, errors=problems)
    taken = TicketSnapshot.from_pb(done.snapshot) if opened else None
    return TicketPayload(ticket=Ticket.from_pb(done.ticket), snapshot=taken, errors=[])


@strawberry.type(description="A page of tickets, newest first.")
class TicketConnection:
    nodes: list[Ticket]
    page_info: PageInfo


async def _ticket_page(
    info: Info, statuses: list[TicketStatus] | None, size: int, token: str
) -> pb.ListTicketsResponse:
    ctx = info.context
    request = pb.ListTicketsRequest(statuses=[s.value for s in statuses or []], limit=size, page_token=token)
    return await ctx.backends.call(ctx.backends.tickets.ListTickets, request, ctx.principal)


@strawberry.type
class TicketQuery:
    @strawberry.field(
        permission_classes=[CanReadTickets],
        description="Your tickets, newest first: your tenant's, or (supplier staff) your tenants'.",
        deprecation_reason="Use ticketsConnection: a cursor connection.",
    )
    async def tickets(
        self, info: Info, statuses: list[TicketStatus] | None = None, limit: int = 50
    ) -> list[Ticket]:
        found = await _ticket_page(info, statuses, min(max(limit, 1), 200), "")
        return [Ticket.from_pb(t) for t in found.tickets]

    @strawberry.field(
        permission_classes=[CanReadTickets],
        description="Your tickets, newest first, a page at a time: your tenant's, or (supplier staff) your"
        " tenants'.",
    )
    async def tickets_connection(
        self, info: Info, statuses: list[TicketStatus] | None = None, first: int = 50, after: After = None
    ) -> TicketConnection:
        found = await _ticket_page(info, statuses, checked_first(first), after or "")
        return TicketConnection(
            nodes=[Ticket.from_pb(t) for t in found.tickets], page_info=page_info_from(found.next_page_token)
        )

    @strawberry.field(
        permission_classes=[CanReadTickets], description="One ticket, its snapshot and history."
    )
    async def ticket(self, info: Info, id: strawberry.ID) -> TicketDetail:
        ctx = info.context
        found = await ctx.backends.call(
            ctx.backends.tickets.GetTicket, pb.GetTicketRequest(ticket_id=str(id)), ctx.principal
        )
        history = [
            TicketEvent(
                at=e.at_ns,
                actor=e.actor,
                side=e.side,
                kind=e.kind,
                body=e.body,
                from_status=TicketStatus(e.from_status) if e.from_status else None,
                to_status=TicketStatus(e.to_status) if e.to_status else None,
            )
            for e in found.events
        ]
        return TicketDetail(
            ticket=Ticket.from_pb(found.ticket),
            snapshot=TicketSnapshot.from_pb(found.snapshot),
            history=history,
        )


@strawberry.type
class TicketMutation:
    @strawberry.mutation(
        permission_classes=[IsTenantUser],
        description="Open a ticket to your tenant's supplier (owners, admins, operators); a diagnostic snapshot"
        " is taken with it.",
    )
    async def open_ticket(self, info: Info, subject: str, body: str = "") -> TicketPayload:
        return await _act(info, "OpenTicket", pb.OpenTicketRequest(subject=subject, body=body), opened=True)

    @strawberry.mutation(permission_classes=[IsPerson], description="Comment on a ticket (either side).")
    async def comment_ticket(self, info: Info, id: strawberry.ID, body: str) -> TicketPayload:
        return await _act(info, "CommentTicket", pb.CommentTicketRequest(ticket_id=str(id), body=body))

    @strawberry.mutation(
        permission_classes=[IsPerson],
        description="Move a ticket on; a move the flow does not allow is a BAD_TRANSITION error naming the"
        " allowed ones.",
    )
    async def set_ticket_status(
        self, info: Info, id: strawberry.ID, status: TicketStatus, note: str = ""
    ) -> TicketPayload:
        request = pb.SetTicketStatusRequest(ticket_id=str(id), status=status.value, note=note)
        return await _act(info, "SetTicketStatus", request)
