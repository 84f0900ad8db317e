"""Invitations, password resets and lockout, with the mail read from a real local SMTP server."""

from __future__ import annotations

import asyncio

import grpc

from services.runtime.principal import Role
from services.runtime.tokens import service_principal
from services.tenancy.access import MAX_FAILURES
from sfcloud.v1 import tenancy_pb2 as pb
from tests.control_plane import OPERATOR, rejected

GATEWAY = service_principal("gateway")


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


async def test_lockout_after_repeated_failures_and_reset_unlocks(mailing_tenancy, inbox):
    """RELIABILITY A2: Lockout after 10 failed sign-ins; a password reset unlocks."""
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
    for _ in range(MAX_FAILURES - 1):
        error = await rejected(
            tenancy.call("Login", pb.LoginRequest(email=email, password="wrong-password"), GATEWAY)
        )
        assert error.details() == "wrong email or password"
    locked = await rejected(
        tenancy.call("Login", pb.LoginRequest(email=email, password="wrong-password"), GATEWAY)
    )
    assert "locked" in locked.details()
    still = await rejected(
        tenancy.call("Login", pb.LoginRequest(email=email, password="the-right-password"), GATEWAY)
    )
    assert "locked" in still.details()
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
