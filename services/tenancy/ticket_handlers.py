"""gRPC ⇄ domain translation for TicketService; the rules live in `tickets`."""

from __future__ import annotations

from datetime import UTC, datetime

from services.runtime.principal import current_principal
from services.tenancy.handlers import ns
from services.tenancy.support_models import STATUSES, Snapshot, Ticket, TicketEvent
from services.tenancy.tickets import Tickets
from sfcloud.v1 import tickets_pb2 as pb
from sfcloud.v1 import tickets_pb2_grpc

STATUS_PB = {status: i + 1 for i, status in enumerate(STATUSES)}


def _status(number: int) -> str:
    """The name of a status number; an unknown or unspecified one as '' (refused by the domain)."""
    return next((name for name, n in STATUS_PB.items() if n == number), "")


def ticket_pb(t: Ticket) -> pb.Ticket:
    now = datetime.now(UTC)
    return pb.Ticket(
        id=str(t.id),
        tenant_id=str(t.tenant_id),
        supplier_id=str(t.supplier_id),
        subject=t.subject,
        body=t.body,
        status=STATUS_PB[t.status],
        opened_by=t.opened_by,
        created_ns=ns(t.created_at),
        first_response_ns=ns(t.first_response_at),
        resolved_ns=ns(t.resolved_at),
        closed_ns=ns(t.closed_at),
        response_due_ns=ns(t.response_due_at),
        resolution_due_ns=ns(t.resolution_due_at),
        response_breached=t.response_breached(now),
        resolution_breached=t.resolution_breached(now),
    )


def snapshot_pb(s: Snapshot) -> pb.TicketSnapshot:
    return pb.TicketSnapshot(
        taken_ns=s.taken_ns,
        devices=[pb.DeviceDiagnosis(**d.__dict__) for d in s.devices],
        ingest_error_rate=s.ingest_error_rate,
        conflict_rate=s.conflict_rate,
        recent_alarms=[pb.AlarmDiagnosis(**a.__dict__) for a in s.recent_alarms],
        telemetry_unavailable=s.telemetry_unavailable,
    )


def event_pb(e: TicketEvent) -> pb.TicketEvent:
    return pb.TicketEvent(
        at_ns=ns(e.at),
        actor=e.actor,
        side=e.side,
        kind=e.kind,
        body=e.body,
        from_status=STATUS_PB.get(e.from_status or "", 0),
        to_status=STATUS_PB.get(e.to_status or "", 0),
    )


class TicketHandlers(tickets_pb2_grpc.TicketServiceServicer):
    def __init__(self, tickets: Tickets) -> None:
        self._tickets = tickets

    async def OpenTicket(self, request, context) -> pb.OpenTicketResponse:
        ticket, taken = await self._tickets.open(current_principal(), request.subject, request.body)
        return pb.OpenTicketResponse(ticket=ticket_pb(ticket), snapshot=snapshot_pb(taken))

    async def ListTickets(self, request, context) -> pb.ListTicketsResponse:
        statuses = [_status(s) for s in request.statuses]
        found, token = await self._tickets.list(
            current_principal(), statuses, request.limit, request.page_token
        )
        return pb.ListTicketsResponse(tickets=[ticket_pb(t) for t in found], next_page_token=token)

    async def GetTicket(self, request, context) -> pb.GetTicketResponse:
        ticket, taken, events = await self._tickets.get(current_principal(), request.ticket_id)
        return pb.GetTicketResponse(
            ticket=ticket_pb(ticket), snapshot=snapshot_pb(taken), events=[event_pb(e) for e in events]
        )

    async def CommentTicket(self, request, context) -> pb.CommentTicketResponse:
        ticket = await self._tickets.comment(current_principal(), request.ticket_id, request.body)
        return pb.CommentTicketResponse(ticket=ticket_pb(ticket))

    async def SetTicketStatus(self, request, context) -> pb.SetTicketStatusResponse:
        ticket = await self._tickets.set_status(
            current_principal(), request.ticket_id, _status(request.status), request.note
        )
        return pb.SetTicketStatusResponse(ticket=ticket_pb(ticket))
