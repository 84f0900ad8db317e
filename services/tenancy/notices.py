"""The emails tickets and supplier requests owe the other side (docs/SUPPORT.md, "Notifications"): which
event tells whom, and what the mail says.

| event | mailed |
| --- | --- |
| the customer opens, comments on or moves a ticket | the supplier's staff (admins and staff) |
| the supplier comments on or moves a ticket | the ticket's opener and the tenant's owners and admins |
| a tenant asks a supplier (`requestSupplier`) | the asked supplier's staff |
| the supplier accepts or declines | the requesting tenant's owners |

Users have no stored language, so every mail is written in Korean, then English; each links to the page
where the recipient acts on it.
"""

from __future__ import annotations

import uuid
from typing import Protocol

from services.tenancy.storage import mail_outbox
from services.tenancy.storage.mail_outbox import Notice
from services.tenancy.support_models import CUSTOMER, Ticket

SUPPLIER_STAFF, TICKET_CUSTOMER, TENANT_OWNERS = "supplier_staff", "ticket_customer", "tenant_owners"
MAX_QUOTED = 2000  # characters of a ticket's body, a comment or a note quoted in a mail
STATUS_KO = {
    "open": "접수",
    "in_progress": "처리 중",
    "waiting_on_customer": "고객 답변 대기",
    "resolved": "해결됨",
    "closed": "종료",
}
STATUS_EN = {s: s.replace("_", " ") for s in STATUS_KO}


class Courier(Protocol):
    def wake(self) -> None:
        """Notices were committed: deliver them now."""


def _to_other_side(ticket: Ticket, side: str, kind: str, detail: dict) -> Notice:
    audience = SUPPLIER_STAFF if side == CUSTOMER else TICKET_CUSTOMER
    detail = {"ticket_id": str(ticket.id), "subject": ticket.subject, "side": side} | detail
    return Notice(ticket.tenant_id, ticket.supplier_id, kind, audience, detail, ticket.opened_by)


def ticket_opened(ticket: Ticket) -> Notice:
    return _to_other_side(ticket, CUSTOMER, "ticket_opened", {"text": ticket.body[:MAX_QUOTED]})


def ticket_comment(ticket: Ticket, side: str, body: str) -> Notice:
    return _to_other_side(ticket, side, "ticket_comment", {"text": body[:MAX_QUOTED]})


def ticket_status(ticket: Ticket, side: str, moved: tuple[str, str], note: str) -> Notice:
    detail = {"from": moved[0], "to": moved[1], "text": note[:MAX_QUOTED]}
    return _to_other_side(ticket, side, "ticket_status", detail)


def request_made(tenant_id: uuid.UUID, supplier_id: uuid.UUID, request_id: uuid.UUID, message: str) -> Notice:
    detail = {"request_id": str(request_id), "text": message[:MAX_QUOTED]}
    return Notice(tenant_id, supplier_id, "request_made", SUPPLIER_STAFF, detail)


def request_decided(
    tenant_id: uuid.UUID, supplier_id: uuid.UUID, request_id: uuid.UUID, accepted: bool, note: str = ""
) -> Notice:
    kind = "request_accepted" if accepted else "request_declined"
    detail = {"request_id": str(request_id), "text": note[:MAX_QUOTED]}
    return Notice(tenant_id, supplier_id, kind, TENANT_OWNERS, detail)


async def owe(conn, notice: Notice) -> None:
    """Add the notice to the outbox, in the transaction of the change that owes it."""
    await mail_outbox.add(conn, notice)


def link(public_url: str, kind: str, audience: str, detail: dict) -> str:
    """Where the recipient acts on it: the ticket in the supplier portal or in the tenant's web app; the
    supplier portal, or the tenant's supplier directory (where its requests stand)."""
    if kind.startswith("ticket_"):
        ticket = detail["ticket_id"]
        if audience == SUPPLIER_STAFF:
            return f"{public_url}/supplier/tickets#ticket-{ticket}"
        return f"{public_url}/tickets/{ticket}"
    return f"{public_url}/supplier" if audience == SUPPLIER_STAFF else f"{public_url}/suppliers"


def _actor(detail: dict) -> str:
    """The side that acted on a ticket, as the mail names it: the tenant or the supplier."""
    return detail["tenant"] if detail["side"] == CUSTOMER else detail["supplier"]


def _quoted(detail: dict) -> str:
    return "\n\n> " + detail["text"].replace("\n", "\n> ") if detail.get("text") else ""


def _lines(kind: str, d: dict) -> tuple[str, str, str, str]:
    """(Korean subject, English subject, Korean text, English text) of one event."""
    who = _actor(d) if kind.startswith("ticket_") else ""
    if kind == "ticket_opened":
        return (
            f"새 A/S 문의 — {d['tenant']}: {d['subject']}",
            f"New ticket from {d['tenant']}: {d['subject']}",
            f'{d["tenant"]}에서 A/S 문의를 열었습니다: "{d["subject"]}"',
            f'{d["tenant"]} opened a ticket: "{d["subject"]}"',
        )
    if kind == "ticket_comment":
        return (
            f"문의에 새 댓글 — {d['subject']}",
            f'New comment on "{d["subject"]}"',
            f'{who}이(가) 문의 "{d["subject"]}"에 댓글을 남겼습니다.',
            f'{who} commented on the ticket "{d["subject"]}".',
        )
    if kind == "ticket_status":
        ko_to, en_to = STATUS_KO[d["to"]], STATUS_EN[d["to"]]
        return (
            f"문의 상태 변경 ({ko_to}) — {d['subject']}",
            f'Ticket now {en_to}: "{d["subject"]}"',
            f'{who}이(가) 문의 "{d["subject"]}"의 상태를 {STATUS_KO[d["from"]]}에서 {ko_to}(으)로 바꿨습니다.',
            f'{who} moved the ticket "{d["subject"]}" from {STATUS_EN[d["from"]]} to {en_to}.',
        )
    if kind == "request_made":
        return (
            f"공급사 요청 — {d['tenant']}",
            f"{d['tenant']} asks you to be its supplier",
            f"{d['tenant']}이(가) {d['supplier']}을(를) 공급사로 요청했습니다. 공급사 포털에서 수락하거나 거절하세요.",
            f"{d['tenant']} asks {d['supplier']} to be its supplier. Accept or decline it in the supplier portal.",
        )
    if kind == "request_accepted":
        return (
            f"공급사 요청 수락 — {d['supplier']}",
            f"{d['supplier']} accepted your request",
            f"{d['supplier']}이(가) {d['tenant']}의 공급사 요청을 수락했습니다. 이제 이 공급사가 귀사를 지원합니다.",
            f"{d['supplier']} accepted {d['tenant']}'s request to be its supplier: it now serves your tenant.",
        )
    return (
        f"공급사 요청 거절 — {d['supplier']}",
        f"{d['supplier']} declined your request",
        f"{d['supplier']}이(가) {d['tenant']}의 공급사 요청을 거절했습니다.",
        f"{d['supplier']} declined {d['tenant']}'s request to be its supplier.",
    )


def _why(audience: str, d: dict) -> tuple[str, str]:
    if audience == SUPPLIER_STAFF:
        return f"{d['supplier']}의 직원", f"a member of {d['supplier']}'s staff"
    if audience == TICKET_CUSTOMER:
        return (
            f"문의를 연 분 또는 {d['tenant']}의 소유자·관리자",
            f"the ticket's opener or an owner or admin of {d['tenant']}",
        )
    return f"{d['tenant']}의 소유자", f"an owner of {d['tenant']}"


def render(kind: str, audience: str, detail: dict, public_url: str) -> tuple[str, str]:
    """(subject, body) of the mail, Korean first, then English."""
    ko_subject, en_subject, ko_text, en_text = _lines(kind, detail)
    ko_why, en_why = _why(audience, detail)
    where = link(public_url, kind, audience, detail)
    ticket = f"\nTicket id: {detail['ticket_id']}" if "ticket_id" in detail else ""
    body = (
        f"{ko_text}{_quoted(detail)}\n\n바로 가기: {where}\n\n"
        f"{ko_why}(으)로서 이 메일을 받으셨습니다.\n\n---\n\n"
        f"{en_text}{_quoted(detail)}\n\nOpen it: {where}{ticket}\n\n"
        f"You receive this email as {en_why}.\n"
    )
    return f"[sfcloud] {ko_subject} / {en_subject}", body
