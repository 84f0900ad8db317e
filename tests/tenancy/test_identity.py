"""Invitations, password resets and lockout, with the mail read from a real local SMTP server."""

from __future__ import annotations

import asyncio
import uuid

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
    await tenancy.provision(
        owner.tenant_id,
        pb.CreateUserRequest(
            email=email, password="the-right-password", display_name="L", role=pb.ROLE_VIEWER
        ),
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


async def _account(tenancy, tenant_id: str, email: str):
    """A new member of the tenant, with the password "own-password-1"."""
    made = pb.CreateUserRequest(
        email=email, password="own-password-1", display_name="Own", role=pb.ROLE_VIEWER
    )
    return await tenancy.provision(tenant_id, made)


def _id_shape(answer) -> tuple:
    """An invitation's answer as its caller sees it: its fields, the id only as well-formed."""
    return [f.name for f, _ in answer.ListFields()], str(
        uuid.UUID(answer.invitation_id)
    ) == answer.invitation_id


async def _accept(tenancy, token: str, password: str = "own-password-1") -> pb.AcceptInvitationResponse:
    accepting = pb.AcceptInvitationRequest(token=token, display_name="Joiner", password=password)
    return await tenancy.call("AcceptInvitation", accepting, GATEWAY)


async def test_only_the_operator_makes_accounts_with_a_password(mailing_tenancy):
    """RELIABILITY I4: a tenant's managers and a supplier's admin cannot make an account with a password
    they chose (it would tell them, by signing in or not, whether the email had one); the operator can, for a
    new email only (ALREADY_EXISTS otherwise, since the operator may know), in a tenant that exists."""
    tenancy = mailing_tenancy
    tenant, owner = await tenancy.tenant(OPERATOR)
    supplier, admin = await tenancy.supplier("Accounts")
    made = pb.CreateUserRequest(
        email="x@example.com", password="p" * 12, display_name="X", role=pb.ROLE_VIEWER
    )
    staff = pb.CreateSupplierUserRequest(
        supplier_id=supplier.id, email="y@example.com", password="p" * 12, display_name="Y", role="staff"
    )
    for method, request, caller in (
        ("CreateUser", made, owner),
        (
            "CreateUser",
            made,
            owner.__class__(owner.kind, owner.subject, tenant_id=owner.tenant_id, role=Role.ADMIN),
        ),
        ("CreateSupplierUser", staff, admin),
    ):
        error = await rejected(tenancy.call(method, request, caller))
        assert (error.code(), error.details()) == (
            grpc.StatusCode.PERMISSION_DENIED,
            "only the platform operator may do this",
        )
    email = f"made-{owner.subject[:8]}@example.com"
    await _account(tenancy, tenant.id, email)
    twice = await rejected(_account(tenancy, tenant.id, email))
    assert twice.code() == grpc.StatusCode.ALREADY_EXISTS and "invite it instead" in twice.details()
    nowhere = await rejected(_account(tenancy, str(uuid.uuid4()), "z@example.com"))
    assert nowhere.code() == grpc.StatusCode.NOT_FOUND


async def test_inviting_an_email_that_has_an_account_follows_as_a_new_one(mailing_tenancy, inbox, admin_conn):
    """RELIABILITY I4: B's owner invites the email of an account of A's and a new email: the same answer,
    both listed as invited and audited `user.invite`, neither a member; the account keeps its password and
    memberships and joins B only with its own password, the new person with the one they choose."""
    tenancy = mailing_tenancy
    first, first_owner = await tenancy.tenant(OPERATOR)
    second, second_owner = await tenancy.tenant(OPERATOR)
    known, new = (f"{who}-{first_owner.subject[:8]}@example.com" for who in ("elsewhere", "new"))
    account = (await _account(tenancy, first.id, known)).user
    answers = {
        email: await tenancy.call(
            "InviteUser", pb.InviteUserRequest(email=email, role=pb.ROLE_ADMIN), second_owner
        )
        for email in (known, new)
    }
    assert _id_shape(answers[known]) == _id_shape(answers[new]) == (["invitation_id"], True)
    listed = (await tenancy.call("ListInvitations", pb.ListInvitationsRequest(), second_owner)).invitations
    assert sorted((i.email, i.role) for i in listed) == sorted((e, pb.ROLE_ADMIN) for e in (known, new))
    members = (await tenancy.call("ListMembers", pb.ListMembersRequest(), second_owner)).members
    assert {m.email for m in members} & {known, new} == set()
    logged = admin_conn.execute(
        "SELECT action, target FROM tenancy.audit_log WHERE tenant_id = %s ORDER BY id", [second.id]
    ).fetchall()
    assert sorted(logged[-2:]) == sorted([("user.invite", known), ("user.invite", new)])

    tokens = {email: await inbox.next_link("invite", to=email) for email in (known, new)}
    login = await tenancy.call("Login", pb.LoginRequest(email=known, password="own-password-1"), GATEWAY)
    assert [m.tenant.id for m in login.memberships] == [first.id]  # not a member until it accepts
    wrong = await rejected(_accept(tenancy, tokens[known], password="chosen-by-them"))
    assert wrong.code() == grpc.StatusCode.PERMISSION_DENIED
    assert (await _accept(tenancy, tokens[known])).user.id == account.id
    assert (await _accept(tenancy, tokens[new], password="chosen-by-them")).tenant_id == second.id
    login = await tenancy.call("Login", pb.LoginRequest(email=known, password="own-password-1"), GATEWAY)
    assert {(m.tenant.id, m.role) for m in login.memberships} == {
        (first.id, pb.ROLE_VIEWER),
        (second.id, pb.ROLE_ADMIN),
    }
    await tenancy.call("Login", pb.LoginRequest(email=new, password="chosen-by-them"), GATEWAY)


async def test_inviting_supplier_staff_by_an_email_that_has_an_account(mailing_tenancy, inbox, admin_conn):
    """RELIABILITY I4: a supplier's admin invites the email of a tenant's member and a new email with
    InviteSupplierUser: the same answer; the member is mailed an invitation naming the supplier, which only
    its own password accepts, once even when two accept at once, making it the supplier's staff."""
    tenancy = mailing_tenancy
    supplier, admin = await tenancy.supplier("Hiring")
    tenant, owner = await tenancy.tenant(OPERATOR)
    email = f"engineer-{owner.subject[:8]}@example.com"
    account = (await _account(tenancy, tenant.id, email)).user
    answers = [
        await tenancy.call(
            "InviteSupplierUser",
            pb.InviteSupplierUserRequest(supplier_id=supplier.id, email=to, role="staff"),
            admin,
        )
        for to in (email, f"new-{owner.subject[:8]}@example.com")
    ]
    assert _id_shape(answers[0]) == _id_shape(answers[1]) == (["invitation_id"], True)
    mail = await mail_to(inbox, email)
    assert mail["Subject"] == f"You are invited to {supplier.name} on sfcloud"
    assert f"join {supplier.name} on sfcloud as staff" in body_of(mail)
    token = await inbox.next_link("invite", to=email)
    login = await tenancy.call("Login", pb.LoginRequest(email=email, password="own-password-1"), GATEWAY)
    assert ([m.tenant.id for m in login.memberships], list(login.supplier_memberships)) == ([tenant.id], [])

    wrong = await rejected(_accept(tenancy, token, password="chosen-by-them"))
    assert wrong.code() == grpc.StatusCode.PERMISSION_DENIED
    answers = await asyncio.gather(*(_accept(tenancy, token) for _ in range(2)), return_exceptions=True)
    [joined] = [a for a in answers if isinstance(a, pb.AcceptInvitationResponse)]
    [refused] = [a for a in answers if isinstance(a, grpc.aio.AioRpcError)]
    assert (joined.user.id, joined.supplier_id, joined.tenant_id) == (account.id, supplier.id, "")
    assert refused.code() == grpc.StatusCode.FAILED_PRECONDITION
    login = await tenancy.call("Login", pb.LoginRequest(email=email, password="own-password-1"), GATEWAY)
    assert [m.tenant.id for m in login.memberships] == [tenant.id]
    assert [(m.supplier.id, m.role) for m in login.supplier_memberships] == [(supplier.id, "staff")]
    logged = admin_conn.execute(
        "SELECT action, target FROM tenancy.audit_log WHERE supplier_id = %s ORDER BY id", [supplier.id]
    ).fetchall()
    assert ("supplier.invite", email) in logged and logged[-1] == ("supplier.join", account.id)


async def test_inviting_supplier_staff_is_for_its_admins_and_the_operator(mailing_tenancy):
    """Another supplier's admin and a tenant's owner are refused; the role is admin or staff."""
    supplier, admin = await mailing_tenancy.supplier("Guarded")
    _, other_admin = await mailing_tenancy.supplier("Other")
    _, owner = await mailing_tenancy.tenant(OPERATOR)
    invite = pb.InviteSupplierUserRequest(supplier_id=supplier.id, email="s@example.com", role="staff")
    for caller in (other_admin, owner):
        assert (await rejected(mailing_tenancy.call("InviteSupplierUser", invite, caller))).code() == (
            grpc.StatusCode.PERMISSION_DENIED
        )
    await mailing_tenancy.call("InviteSupplierUser", invite, OPERATOR)
    bad_role = pb.InviteSupplierUserRequest(supplier_id=supplier.id, email="s@example.com", role="boss")
    assert (await rejected(mailing_tenancy.call("InviteSupplierUser", bad_role, admin))).code() == (
        grpc.StatusCode.INVALID_ARGUMENT
    )
