"""Invitations, password resets and lockout, with the mail read from a real local SMTP server."""

from __future__ import annotations

import asyncio

import grpc

from services.runtime.principal import Role
from services.runtime.tokens import service_principal
from services.tenancy.models import SignInLimits
from sfcloud.v1 import tenancy_pb2 as pb
from tests.control_plane import OPERATOR, rejected
from tests.webapp.mailing import body_of, mail_to

GATEWAY = service_principal("gateway")
FAILURES = SignInLimits().failures


async def test_invite_accept_once_and_sign_in(mailing_tenancy, inbox):
    tenancy = mailing_tenancy
    tenant, owner = await tenancy.tenant(OPERATOR)
    await tenancy.call(
        "InviteUser", pb.InviteUserRequest(email="new.hire@example.com", role=pb.ROLE_OPERATOR), owner
    )
    mail = inbox.messages[-1]
    assert mail["To"] == "new.hire@example.com" and "invited to" in mail["Subject"]
    token = await inbox.next_link("invite")
    accepted = await tenancy.call(
        "AcceptInvitation",
        pb.AcceptInvitationRequest(token=token, display_name="New Hire", password="a-long-password"),
        GATEWAY,
    )
    assert accepted.tenant_id == tenant.id
    login = await tenancy.call(
        "Login", pb.LoginRequest(email="new.hire@example.com", password="a-long-password"), GATEWAY
    )
    assert [(m.tenant.id, m.role) for m in login.memberships] == [(tenant.id, pb.ROLE_OPERATOR)]
    again = await rejected(
        tenancy.call(
            "AcceptInvitation",
            pb.AcceptInvitationRequest(token=token, display_name="Twice", password="a-long-password"),
            GATEWAY,
        )
    )
    assert again.code() == grpc.StatusCode.FAILED_PRECONDITION and "used or expired" in again.details()
    actions = [
        e.action for e in (await tenancy.call("ListAuditEvents", pb.ListAuditEventsRequest(), owner)).events
    ]
    assert actions[:3] == ["login", "user.join", "user.invite"]


async def test_expired_invitation_and_weak_password(mailing_tenancy, inbox, admin_conn):
    tenancy = mailing_tenancy
    _, owner = await tenancy.tenant(OPERATOR)
    await tenancy.call(
        "InviteUser", pb.InviteUserRequest(email="late@example.com", role=pb.ROLE_VIEWER), owner
    )
    token = await inbox.next_link("invite")
    weak = await rejected(
        tenancy.call(
            "AcceptInvitation",
            pb.AcceptInvitationRequest(token=token, display_name="Late", password="short"),
            GATEWAY,
        )
    )
    assert weak.code() == grpc.StatusCode.INVALID_ARGUMENT and weak.details().startswith("password")
    admin_conn.execute(
        "UPDATE tenancy.invitations SET expires_at = now() - interval '1 second' WHERE email = 'late@example.com'"
    )
    expired = await rejected(
        tenancy.call(
            "AcceptInvitation",
            pb.AcceptInvitationRequest(token=token, display_name="Late", password="a-long-password"),
            GATEWAY,
        )
    )
    assert expired.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert (
        admin_conn.execute("SELECT count(*) FROM tenancy.users WHERE email = 'late@example.com'").fetchone()[
            0
        ]
        == 0
    )


async def test_lockout_after_repeated_failures_and_reset_unlocks(mailing_tenancy, inbox, admin_conn):
    """RELIABILITY A2: Lockout after 10 failed sign-ins, answered as every other refusal; a reset unlocks."""
    tenancy = mailing_tenancy
    _, owner = await tenancy.tenant(OPERATOR)
    email = f"locked-{owner.subject[:8]}@example.com"
    await tenancy.call(
        "CreateUser",
        pb.CreateUserRequest(
            email=email, password="the-right-password", display_name="L", role=pb.ROLE_VIEWER
        ),
        owner,
    )
    tries = [(email, "wrong-password")] * FAILURES + [(email, "the-right-password"), ("no@one.example", "x")]
    answers = set()
    for who, password in tries:  # the last wrong one locks; then the right one, then an unknown email
        error = await rejected(tenancy.call("Login", pb.LoginRequest(email=who, password=password), GATEWAY))
        status = dict(error.trailing_metadata())["grpc-status-details-bin"]  # the reason within
        answers.add((error.code(), error.details(), status))
    assert len(answers) == 1  # locked, wrong and unknown answer alike
    assert answers.pop()[:2] == (grpc.StatusCode.UNAUTHENTICATED, "wrong email or password")
    assert admin_conn.execute(
        "SELECT a.action FROM tenancy.audit_log a JOIN tenancy.users u ON a.target = u.id::text"
        " WHERE u.email = %s ORDER BY a.id DESC LIMIT 1",  # the unknown email's is not joined
        [email],
    ).fetchone() == ("login.locked",)  # the right password was refused unchecked
    await tenancy.call("RequestPasswordReset", pb.RequestPasswordResetRequest(email=email), GATEWAY)
    token = await inbox.next_link("reset")
    await tenancy.call(
        "ResetPassword", pb.ResetPasswordRequest(token=token, new_password="a-brand-new-password"), GATEWAY
    )
    await tenancy.call("Login", pb.LoginRequest(email=email, password="a-brand-new-password"), GATEWAY)
    reused = await rejected(
        tenancy.call(
            "ResetPassword",
            pb.ResetPasswordRequest(token=token, new_password="another-new-password"),
            GATEWAY,
        )
    )
    assert reused.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_reset_for_an_unknown_email_answers_the_same_and_sends_nothing(mailing_tenancy, inbox):
    """RELIABILITY A2: A reset for an unknown email answers the same and sends nothing (no enumeration)."""
    before = len(inbox.messages)
    await mailing_tenancy.call(
        "RequestPasswordReset", pb.RequestPasswordResetRequest(email="nobody@nowhere.example"), GATEWAY
    )
    await asyncio.sleep(0.2)
    assert len(inbox.messages) == before


async def test_only_owners_invite_owners(mailing_tenancy):
    _, owner = await mailing_tenancy.tenant(OPERATOR)
    admin = owner.__class__(owner.kind, owner.subject, tenant_id=owner.tenant_id, role=Role.ADMIN)
    error = await rejected(
        mailing_tenancy.call(
            "InviteUser", pb.InviteUserRequest(email="o@example.com", role=pb.ROLE_OWNER), admin
        )
    )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED


async def _account(tenancy, owner, email: str):
    """A new member of the owner's tenant, with the password "own-password-1"."""
    made = pb.CreateUserRequest(
        email=email, password="own-password-1", display_name="Own", role=pb.ROLE_VIEWER
    )
    return await tenancy.call("CreateUser", made, owner)


async def _own_sign_in(tenancy, email: str) -> pb.LoginResponse:
    """The account's sign-in with its own password, after checking the one chosen by who added it fails."""
    chosen = pb.LoginRequest(email=email, password="chosen-by-them")
    assert (await rejected(tenancy.call("Login", chosen, GATEWAY))).code() == grpc.StatusCode.UNAUTHENTICATED
    return await tenancy.call("Login", pb.LoginRequest(email=email, password="own-password-1"), GATEWAY)


async def test_adding_an_email_that_has_an_account_invites_it_instead(mailing_tenancy, inbox):
    """RELIABILITY I4: CreateUser with the email of an account elsewhere answers as for a new one, leaves
    the account (password, memberships) as it was and mails it an invitation, accepted with its own
    password; the tenant's own member is refused as one already."""
    tenancy = mailing_tenancy
    first, first_owner = await tenancy.tenant(OPERATOR)
    second, second_owner = await tenancy.tenant(OPERATOR)
    email = f"elsewhere-{first_owner.subject[:8]}@example.com"
    account = (await _account(tenancy, first_owner, email)).user
    offered = pb.CreateUserRequest(
        email=email, password="chosen-by-them", display_name="Guest", role=pb.ROLE_ADMIN
    )
    answer = (await tenancy.call("CreateUser", offered, second_owner)).user
    assert (answer.email, answer.display_name, answer.platform_operator) == (email, "Guest", False)
    assert answer.id != account.id
    token = await inbox.next_link("invite")
    login = await _own_sign_in(tenancy, email)
    assert [m.tenant.id for m in login.memberships] == [first.id]  # not a member until it accepts
    accepting = pb.AcceptInvitationRequest(token=token, display_name="", password="own-password-1")
    assert (await tenancy.call("AcceptInvitation", accepting, GATEWAY)).tenant_id == second.id
    login = await tenancy.call("Login", pb.LoginRequest(email=email, password="own-password-1"), GATEWAY)
    assert {(m.tenant.id, m.role) for m in login.memberships} == {
        (first.id, pb.ROLE_VIEWER),
        (second.id, pb.ROLE_ADMIN),
    }
    again = await rejected(_account(tenancy, first_owner, email))
    assert again.code() == grpc.StatusCode.ALREADY_EXISTS


async def test_adding_supplier_staff_by_an_email_that_has_an_account_invites_it_instead(
    mailing_tenancy, inbox, admin_conn
):
    """RELIABILITY I4: CreateSupplierUser with the email of a tenant's member answers as for a new one,
    leaves the account (password, memberships) as it was and mails it an invitation naming the supplier;
    only the account's own password accepts it, once even when two accept at once, making it the supplier's
    staff; then it is refused as one already."""
    tenancy = mailing_tenancy
    supplier, admin = await tenancy.supplier("Hiring")
    tenant, owner = await tenancy.tenant(OPERATOR)
    email = f"engineer-{owner.subject[:8]}@example.com"
    account = (await _account(tenancy, owner, email)).user
    offered = pb.CreateSupplierUserRequest(
        supplier_id=supplier.id, email=email, password="chosen-by-them", display_name="Engineer", role="staff"
    )
    answer = (await tenancy.call("CreateSupplierUser", offered, admin)).user
    assert (answer.id != account.id, answer.email, answer.display_name) == (True, email, "Engineer")
    mail = await mail_to(inbox, email)
    assert mail["Subject"] == f"You are invited to {supplier.name} on sfcloud"
    assert f"join {supplier.name} on sfcloud as staff" in body_of(mail)
    token = await inbox.next_link("invite")
    login = await _own_sign_in(tenancy, email)
    assert ([m.tenant.id for m in login.memberships], list(login.supplier_memberships)) == ([tenant.id], [])

    wrong = pb.AcceptInvitationRequest(token=token, password="chosen-by-them")
    assert (
        await rejected(tenancy.call("AcceptInvitation", wrong, GATEWAY))
    ).code() == grpc.StatusCode.PERMISSION_DENIED
    accepting = pb.AcceptInvitationRequest(token=token, password="own-password-1")
    answers = await asyncio.gather(
        *(tenancy.call("AcceptInvitation", accepting, GATEWAY) for _ in range(2)), return_exceptions=True
    )
    [joined] = [a for a in answers if isinstance(a, pb.AcceptInvitationResponse)]
    [refused] = [a for a in answers if isinstance(a, grpc.aio.AioRpcError)]
    assert (joined.user.id, joined.supplier_id, joined.tenant_id) == (account.id, supplier.id, "")
    assert refused.code() == grpc.StatusCode.FAILED_PRECONDITION
    login = await _own_sign_in(tenancy, email)
    assert [m.tenant.id for m in login.memberships] == [tenant.id]
    assert [(m.supplier.id, m.role) for m in login.supplier_memberships] == [(supplier.id, "staff")]
    logged = admin_conn.execute(
        "SELECT action, target FROM tenancy.audit_log WHERE supplier_id = %s ORDER BY id", [supplier.id]
    ).fetchall()
    assert logged[-2:] == [("supplier.invite", email), ("supplier.join", account.id)]
    again = await rejected(tenancy.call("CreateSupplierUser", offered, admin))
    assert again.code() == grpc.StatusCode.ALREADY_EXISTS and "staff" in again.details()
