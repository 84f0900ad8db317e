"""The emails tickets and supplier requests owe the other side (docs/SUPPORT.md, "Notifications"), end to
end: the real tenancy service over gRPC, the real database, its mail outbox and sender, and a real local SMTP
server (aiosmtpd). Each event mails each person it should exactly once, in Korean and English with a link,
and nobody else: not the acting side, not another tenant, not another supplier. With the mail server down
the actions answer at once and their mail arrives, once, when it is back."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from dataclasses import dataclass
from email.header import decode_header, make_header

import grpc
import psycopg
import pytest
from aiosmtpd.controller import Controller

from services.runtime.principal import Kind, Principal, Role
from services.runtime.settings import ServiceSettings, role_url
from services.runtime.tokens import METADATA_KEY
from services.tenancy.config import TenancySettings
from services.tenancy.mail_outbox import MailRetry
from services.tenancy.server import TenancyServer
from sf.inprocess import free_port
from sfcloud.v1 import tenancy_pb2 as pb
from sfcloud.v1 import tenancy_pb2_grpc, tickets_pb2, tickets_pb2_grpc
from tests.control_plane import OPERATOR, Tenancy
from tests.mail import Inbox

PUBLIC_URL = "http://sf.test"
SETTLE_S = 0.6  # after the expected mail came, how long to wait for any that should not come
RETRY = MailRetry(base_s=0.2, most_s=1.0, poll_s=0.3)


class MailServer:
    """A real SMTP server on a fixed port that can be stopped (an outage) and started again."""

    def __init__(self) -> None:
        self.inbox, self.port = Inbox(), free_port()
        self.url = f"smtp://127.0.0.1:{self.port}"
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def mails_to(self, addresses: set[str]) -> list[tuple[str, str, str]]:
        """(to, subject, body) of every mail received for one of ``addresses``."""
        found = []
        for message in self.inbox.messages:
            if message["To"] in addresses:
                body = message.get_payload(decode=True).decode(message.get_content_charset() or "utf-8")
                subject = str(make_header(decode_header(message["Subject"])))
                found.append((message["To"], subject, body))
        return found


@dataclass
class People:
    """Everyone who could be mailed, by name, and the principals that act."""

    emails: dict[str, str]
    acting: dict[str, Principal]
    ids: dict[str, str]

    def of(self, *names: str) -> set[str]:
        return {self.emails[n] for n in names}


@pytest.fixture(scope="module")
def mail_server():
    server = MailServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def tenancy(stack, admin_url, signing_key, signer, mail_server):
    """The tenancy service mailing the local SMTP server (the shared stack's tenancy sends no mail), with a
    stub for each of its services."""
    service = ServiceSettings("tenancy", "127.0.0.1:0", role_url(admin_url, "sf_tenancy", None), signing_key)
    settings = TenancySettings(
        service,
        smtp_url=mail_server.url,
        public_url=PUBLIC_URL,
        analytics_target=stack.targets["analytics"],
        mail_retry=RETRY,
    )
    server = TenancyServer(settings)
    port = await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield (
            Tenancy(tenancy_pb2_grpc.TenancyServiceStub(channel), signer),
            tickets_pb2_grpc.TicketServiceStub(channel),
        )
    await server.stop()


def _email(name: str) -> str:
    return f"{name}-{secrets.token_hex(4)}@notify.example"


async def _supplier_staff(
    control: Tenancy, people: People, supplier_name: str, names: tuple[str, ...]
) -> str:
    made = (
        await control.call("CreateSupplier", pb.CreateSupplierRequest(name=supplier_name), OPERATOR)
    ).supplier
    for name, role in zip(names, ("admin", "staff"), strict=False):
        people.emails[name] = _email(name)
        request = pb.CreateSupplierUserRequest(
            supplier_id=made.id,
            email=people.emails[name],
            password="supplier-pass-123",
            display_name=name,
            role=role,
        )
        user = (await control.call("CreateSupplierUser", request, OPERATOR)).user
        people.acting[name] = Principal(Kind.USER, user.id, supplier_id=uuid.UUID(made.id))
    return made.id


async def _tenant(
    control: Tenancy, people: People, prefix: str, supplier_id: str, roles: dict[str, Role]
) -> str:
    request = pb.CreateTenantRequest(
        name=f"{prefix} {secrets.token_hex(3)}", plan_code="standard", supplier_id=supplier_id
    )
    tenant = (await control.call("CreateTenant", request, OPERATOR)).tenant
    for name, role in roles.items():
        people.emails[name] = _email(name)
        made = pb.CreateUserRequest(
            email=people.emails[name],
            password="tenant-pass-12345",
            display_name=name,
            role=getattr(pb, f"ROLE_{role.name}"),
        )
        user = (await control.provision(tenant.id, made)).user
        people.acting[name] = Principal(Kind.USER, user.id, tenant_id=uuid.UUID(tenant.id), role=role)
    people.ids[prefix] = tenant.id
    return tenant.id


@pytest.fixture(scope="module")
async def people(tenancy) -> People:
    """Supplier S (an admin and a staff member) resells A (owner, admin, operator, viewer) and B (owner);
    supplier T (an admin) resells nobody yet."""
    control, _ = tenancy
    people = People({}, {}, {})
    people.ids["S"] = await _supplier_staff(control, people, "Notify S", ("s_admin", "s_staff"))
    people.ids["T"] = await _supplier_staff(control, people, "Notify T", ("t_admin",))
    a_roles = {
        "a_owner": Role.OWNER,
        "a_admin": Role.ADMIN,
        "a_operator": Role.OPERATOR,
        "a_viewer": Role.VIEWER,
    }
    await _tenant(control, people, "A", people.ids["S"], a_roles)
    await _tenant(control, people, "B", people.ids["S"], {"b_owner": Role.OWNER})
    return people


async def _expect(mail: MailServer, people: People, before: int, who: set[str]) -> list[tuple[str, str, str]]:
    """The mails that arrived since ``before`` for anyone in ``people``: exactly one to each of ``who``."""
    everyone = set(people.emails.values())
    for _ in range(200):  # up to 10 s
        if who <= {m[0] for m in mail.mails_to(everyone)[before:]}:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(SETTLE_S)
    new = mail.mails_to(everyone)[before:]
    assert sorted(m[0] for m in new) == sorted(who), new
    return new


def _count(mail: MailServer, people: People) -> int:
    return len(mail.mails_to(set(people.emails.values())))


async def _ticket_call(tickets, control: Tenancy, method: str, request, principal: Principal):
    return await getattr(tickets, method)(
        request, metadata=((METADATA_KEY, control.signer.sign(principal)),), timeout=20
    )


async def test_each_ticket_event_mails_the_other_side_once(tenancy, people, mail_server):
    control, tickets = tenancy
    supplier_staff = people.of("s_admin", "s_staff")
    customer = people.of("a_operator", "a_owner", "a_admin")  # the opener, and the owners and admins

    before = _count(mail_server, people)
    opened = await _ticket_call(
        tickets,
        control,
        "OpenTicket",
        tickets_pb2.OpenTicketRequest(subject="Press 3 stops", body="Since 6 am.\nLine 2."),
        people.acting["a_operator"],
    )
    ticket_id = opened.ticket.id
    mails = await _expect(mail_server, people, before, supplier_staff)
    _, subject, body = mails[0]
    assert "Press 3 stops" in subject and "새 A/S 문의" in subject and "New ticket" in subject
    assert f"{PUBLIC_URL}/supplier/tickets#ticket-{ticket_id}" in body
    assert (
        "A/S 문의를 열었습니다" in body and "opened a ticket" in body and "> Since 6 am.\n> Line 2." in body
    )

    before = _count(mail_server, people)
    request = tickets_pb2.CommentTicketRequest(ticket_id=ticket_id, body="It shows E42.")
    await _ticket_call(tickets, control, "CommentTicket", request, people.acting["a_operator"])
    mails = await _expect(mail_server, people, before, supplier_staff)
    assert "It shows E42." in mails[0][2]

    before = _count(mail_server, people)
    request = tickets_pb2.CommentTicketRequest(ticket_id=ticket_id, body="We send an engineer.")
    await _ticket_call(tickets, control, "CommentTicket", request, people.acting["s_staff"])
    mails = await _expect(mail_server, people, before, customer)
    assert f"{PUBLIC_URL}/tickets/{ticket_id}" in mails[0][2] and "We send an engineer." in mails[0][2]

    before = _count(mail_server, people)
    moved = tickets_pb2.SetTicketStatusRequest(
        ticket_id=ticket_id, status=tickets_pb2.TICKET_STATUS_WAITING_ON_CUSTOMER, note="Which firmware?"
    )
    await _ticket_call(tickets, control, "SetTicketStatus", moved, people.acting["s_admin"])
    mails = await _expect(mail_server, people, before, customer)
    _, subject, body = mails[0]
    assert "고객 답변 대기" in subject and "waiting on customer" in subject
    assert "from open to waiting on customer" in body and "접수에서 고객 답변 대기(으)로" in body

    before = _count(mail_server, people)
    back = tickets_pb2.SetTicketStatusRequest(
        ticket_id=ticket_id, status=tickets_pb2.TICKET_STATUS_IN_PROGRESS
    )
    await _ticket_call(tickets, control, "SetTicketStatus", back, people.acting["a_owner"])
    await _expect(mail_server, people, before, supplier_staff)


async def test_supplier_requests_mail_the_asked_supplier_then_the_tenants_owners(
    tenancy, people, mail_server
):
    control, _ = tenancy
    before = _count(mail_server, people)
    asked = await control.call(
        "RequestSupplierTransfer",
        pb.RequestSupplierTransferRequest(to_supplier_id=people.ids["T"], message="We grow: 3 new lines."),
        people.acting["a_owner"],
    )
    mails = await _expect(mail_server, people, before, people.of("t_admin"))
    assert (
        "공급사 요청" in mails[0][1]
        and "We grow: 3 new lines." in mails[0][2]
        and f"{PUBLIC_URL}/supplier" in mails[0][2]
    )

    before = _count(mail_server, people)
    declined = pb.DeclineSupplierTransferRequest(
        transfer_id=asked.transfer_id, note="Fully booked until May."
    )
    await control.call("DeclineSupplierTransfer", declined, people.acting["t_admin"])
    mails = await _expect(mail_server, people, before, people.of("a_owner"))  # owners only
    assert "거절" in mails[0][1] and "declined" in mails[0][1] and "Fully booked until May." in mails[0][2]

    before = _count(mail_server, people)
    asked = await control.call(
        "RequestSupplierTransfer",
        pb.RequestSupplierTransferRequest(to_supplier_id=people.ids["T"]),
        people.acting["b_owner"],
    )
    await _expect(mail_server, people, before, people.of("t_admin"))
    before = _count(mail_server, people)
    await control.call(
        "AcceptSupplierTransfer",
        pb.AcceptSupplierTransferRequest(transfer_id=asked.transfer_id),
        people.acting["t_admin"],
    )
    mails = await _expect(mail_server, people, before, people.of("b_owner"))
    assert "수락" in mails[0][1] and "accepted" in mails[0][1]


async def test_an_smtp_outage_delays_the_mail_and_loses_none(tenancy, people, mail_server, admin_url):
    """The actions answer at once with the mail server down; each failed attempt is recorded and retried,
    and when the server is back every mail arrives, once."""
    control, tickets = tenancy
    mail_server.stop()
    try:
        before = _count(mail_server, people)
        started = time.monotonic()
        opened = await _ticket_call(
            tickets,
            control,
            "OpenTicket",
            tickets_pb2.OpenTicketRequest(subject="Sensor offline"),
            people.acting["a_admin"],
        )
        request = tickets_pb2.CommentTicketRequest(ticket_id=opened.ticket.id, body="On it.")
        await _ticket_call(tickets, control, "CommentTicket", request, people.acting["s_staff"])
        assert time.monotonic() - started < 5  # nothing waited on the mail server
        await asyncio.sleep(2.0)  # attempts at about 0, 0.2, 0.6, 1.4 s fail
        with psycopg.connect(admin_url) as conn:
            rows = conn.execute(
                "SELECT attempts, last_error, sent_at FROM tenancy.mail_outbox WHERE detail->>'ticket_id' = %s",
                [opened.ticket.id],
            ).fetchall()
        assert len(rows) == 2 and all(a >= 2 and "mail server" in e and s is None for a, e, s in rows), rows
        assert _count(mail_server, people) == before
    finally:
        mail_server.start()
    await _expect(mail_server, people, before, people.of("s_admin", "s_staff", "a_admin", "a_owner"))


async def test_the_outbox_is_read_by_the_sender_only(tenancy, admin_url, people):
    """Row-level security: the tenant's own transaction (and its supplier's) reads none of the outbox, not
    even the rows its changes added; only the sender's setting reads them."""
    control, tickets = tenancy
    request = tickets_pb2.OpenTicketRequest(subject="Outbox rows")
    await _ticket_call(tickets, control, "OpenTicket", request, people.acting["a_owner"])
    settings = {
        "tenant": ("app.tenant_id", people.ids["A"]),
        "supplier": ("app.supplier_id", people.ids["S"]),
        "sender": ("app.mail_sender", "on"),
    }
    seen = {}
    with psycopg.connect(role_url(admin_url, "sf_tenancy", None)) as conn:
        for name, (key, value) in settings.items():
            with conn.transaction():
                conn.execute("SELECT set_config(%s, %s, true)", [key, value])
                seen[name] = conn.execute(
                    "SELECT count(*) FROM tenancy.mail_outbox WHERE tenant_id = %s", [people.ids["A"]]
                ).fetchone()[0]
    assert seen["tenant"] == seen["supplier"] == 0 and seen["sender"] >= 1, seen
