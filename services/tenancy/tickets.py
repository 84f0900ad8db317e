"""After-service tickets: a tenant asks its supplier for help (docs/SUPPORT.md).

A ticket is opened by a tenant's owner, admin or operator, to the supplier the tenant has then, with a
diagnostic snapshot taken at that moment: the tenant's devices with their last batch and newest point and
their ingest counts (asked of analytics, which reads the tenant's cell), the refused-batch and conflict
rates, and the alarms of the last 7 days. If analytics cannot answer, the ticket still opens and its
snapshot says so: help is most needed when something is down.

Both sides comment; the status follows `MOVES` (each move made by the side it belongs to). The
supplier's first comment or move is the first response; response and resolution are due after the hours
of the tenant's plan (`support_response_hours`, `support_resolution_hours`). A tenant sees its own
tickets, a supplier's staff those of the supplier's tenants; any other ticket is NOT_FOUND.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from services.runtime import keyset
from services.runtime.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unavailable,
)
from services.runtime.principal import Principal, Role, Scope
from services.runtime.transactions import Transactions
from services.runtime.validation import limit_text, parse_id, require_name
from services.tenancy import audit, notices
from services.tenancy.storage import access as access_storage
from services.tenancy.storage import organisations as org_storage
from services.tenancy.storage import tickets as storage
from services.tenancy.support_models import (
    CUSTOMER,
    MOVES,
    STATUSES,
    SUPPLIER,
    DeviceDiagnosis,
    Snapshot,
    Ticket,
    TicketEvent,
)

MAX_SUBJECT, MAX_BODY, MAX_COMMENT = 200, 10_000, 5_000
MAX_LIST, DEFAULT_LIST = 200, 50
ALARM_WINDOW_NS, MAX_ALARMS = 7 * 86_400 * 10**9, 20
WRITERS = (Role.OWNER, Role.ADMIN, Role.OPERATOR)


class DeviceTelemetry(Protocol):
    async def activity(self, tenant_id: uuid.UUID, cell: str) -> dict[str, DeviceDiagnosis]:
        """Telemetry figures of the tenant's devices by id; Unavailable when they cannot be read."""


def snapshot(
    taken_ns: int,
    devices: list[tuple],
    activity: dict[str, DeviceDiagnosis],
    alarms: list,
    unavailable: str = "",
) -> Snapshot:
    """The tenant's devices (id, name, created, revoked) joined with their telemetry figures."""
    joined = []
    for device_id, name, _created, revoked in devices:
        figures = activity.get(str(device_id)) or DeviceDiagnosis(str(device_id), "", False)
        joined.append(replace(figures, device_id=str(device_id), name=name, revoked=revoked))
    return Snapshot(taken_ns, tuple(joined), tuple(alarms), unavailable)


class Side:
    """Which side of a ticket the caller is on, and the row-level-security settings that go with it."""

    def __init__(self, name: str, settings: dict[str, str]) -> None:
        self.name = name
        self.settings = settings

    @classmethod
    def reader(cls, caller: Principal) -> Side:
        if caller.supplier_id is not None and caller.tenant_id is None:
            return cls(SUPPLIER, {"app.supplier_id": str(caller.require_supplier())})
        return cls(CUSTOMER, {"app.tenant_id": str(caller.require_scope(Scope.READ))})

    @classmethod
    def writer(cls, caller: Principal) -> Side:
        if caller.supplier_id is not None and caller.tenant_id is None:
            return cls(SUPPLIER, {"app.supplier_id": str(caller.require_supplier())})
        return cls(CUSTOMER, {"app.tenant_id": str(caller.require_role(*WRITERS))})


class Tickets:
    def __init__(self, db: Transactions, telemetry: DeviceTelemetry, courier: notices.Courier) -> None:
        self._db = db
        self._telemetry = telemetry
        self._courier = courier

    async def open(self, caller: Principal, subject: str, body: str) -> tuple[Ticket, Snapshot]:
        tenant_id = caller.require_role(*WRITERS)
        text = (require_name("subject", subject, MAX_SUBJECT), limit_text("body", body, MAX_BODY))
        taken_ns = time.time_ns()
        async with self._db.tenant(tenant_id) as conn:
            tenant = await org_storage.get_tenant(conn, tenant_id)
            if tenant.supplier_id is None:
                raise FailedPrecondition(
                    "your tenant has no supplier to ask: request one in the supplier directory first",
                    reason="NO_SUPPLIER",
                )
            plan = await org_storage.get_plan(conn, tenant.plan_code)
            devices = await access_storage.list_devices(conn)
            alarms = await storage.recent_alarms(conn, taken_ns - ALARM_WINDOW_NS, MAX_ALARMS)
        activity, unavailable = await self._activity(tenant_id, tenant.cell)
        taken = snapshot(taken_ns, devices, activity, alarms, unavailable)
        hours = (plan.quotas.get("support_response_hours"), plan.quotas.get("support_resolution_hours"))
        async with self._db.tenant(tenant_id) as conn:
            ticket = await storage.insert(
                conn, tenant_id, uuid.uuid4(), tenant.supplier_id, text, caller.subject, taken, hours
            )
            await storage.add_event(conn, ticket, f"user:{caller.subject}", CUSTOMER, "opened")
            await audit.record(
                conn, caller, "ticket.open", supplier_id=tenant.supplier_id, target=str(ticket.id)
            )
            await notices.owe(conn, notices.ticket_opened(ticket))
        self._courier.wake()
        return ticket, taken

    async def _activity(self, tenant_id: uuid.UUID, cell: str) -> tuple[dict[str, DeviceDiagnosis], str]:
        try:
            return await self._telemetry.activity(tenant_id, cell), ""
        except Unavailable as exc:
            return {}, f"device telemetry could not be read: {exc.message}"

    async def list(
        self, caller: Principal, statuses: list[str], limit: int, page_token: str
    ) -> tuple[list[Ticket], str]:
        """A page of the tickets the caller's side sees, newest first, and the next page's token."""
        side = Side.reader(caller)
        if bad := [s for s in statuses if s not in STATUSES]:
            raise InvalidArgument.of("statuses", f"unknown status {bad[0]!r}")
        after = keyset.key_after(page_token, datetime, uuid.UUID)
        size = keyset.page_size(limit, DEFAULT_LIST, MAX_LIST)
        async with self._db.transaction(side.settings) as conn:
            found = await storage.list_visible(conn, statuses, after, size + 1)
        return keyset.cut(found, size, lambda t: (t.created_at, t.id))

    async def get(self, caller: Principal, ticket_id: str) -> tuple[Ticket, Snapshot, list[TicketEvent]]:
        side = Side.reader(caller)
        async with self._db.transaction(side.settings) as conn:
            ticket, taken = await _require(conn, ticket_id)
            return ticket, taken, await storage.events(conn, ticket)

    async def comment(self, caller: Principal, ticket_id: str, body: str) -> Ticket:
        side = Side.writer(caller)
        body = require_name("body", body, MAX_COMMENT)
        async with self._db.transaction(side.settings) as conn:
            ticket, _ = await _require(conn, ticket_id)
            if ticket.status == "closed":
                raise FailedPrecondition("a closed ticket takes no more comments", reason="TICKET_CLOSED")
            await storage.add_event(conn, ticket, f"user:{caller.subject}", side.name, "comment", body)
            ticket = await _answered(conn, ticket, side)
            await _audit(conn, caller, ticket, "ticket.comment")
            await notices.owe(conn, notices.ticket_comment(ticket, side.name, body))
        self._courier.wake()
        return ticket

    async def set_status(self, caller: Principal, ticket_id: str, status: str, note: str) -> Ticket:
        side = Side.writer(caller)
        if status not in STATUSES:
            raise InvalidArgument.of("status", f"must be one of {', '.join(STATUSES)}")
        note = limit_text("note", note, MAX_COMMENT)
        async with self._db.transaction(side.settings) as conn:
            ticket, _ = await _require(conn, ticket_id)
            _check_move(ticket.status, status, side.name)
            moved = await storage.move(conn, ticket, status)
            await storage.add_event(
                conn, ticket, f"user:{caller.subject}", side.name, "status", note, (ticket.status, status)
            )
            moved = await _answered(conn, moved, side)
            await _audit(conn, caller, moved, "ticket.status", {"from": ticket.status, "to": status})
            await notices.owe(conn, notices.ticket_status(moved, side.name, (ticket.status, status), note))
        self._courier.wake()
        return moved


def _check_move(current: str, wanted: str, side: str) -> None:
    allowed = MOVES[current]
    if wanted not in allowed:
        options = ", ".join(allowed) or "nothing: closed is final"
        raise FailedPrecondition(
            f"a ticket that is {current} cannot become {wanted}; it can become {options}",
            reason="BAD_TRANSITION",
        )
    if side not in allowed[wanted]:
        raise PermissionDenied(
            f"only the {'supplier' if side == CUSTOMER else 'customer'} moves a ticket from {current} to {wanted}",
            reason="NOT_YOUR_MOVE",
        )


async def _require(conn, ticket_id: str) -> tuple[Ticket, Snapshot]:
    """The ticket if row-level security shows it to the caller; another tenant's is simply not found."""
    found = await storage.get(conn, parse_id("ticket_id", ticket_id))
    if found is None:
        raise NotFound("ticket not found", reason="TICKET_NOT_FOUND")
    return found


async def _answered(conn, ticket: Ticket, side: Side) -> Ticket:
    return await storage.mark_responded(conn, ticket) if side.name == SUPPLIER else ticket


async def _audit(conn, caller: Principal, ticket: Ticket, action: str, detail: dict | None = None) -> None:
    await audit.record(
        conn,
        caller,
        action,
        tenant_id=ticket.tenant_id,
        supplier_id=ticket.supplier_id,
        target=str(ticket.id),
        detail=detail,
    )
