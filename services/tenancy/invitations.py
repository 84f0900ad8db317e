"""Inviting people into a tenant, or onto a supplier's staff: an expiring, single-use token sent by email,
accepted once."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.runtime.errors import FailedPrecondition, PermissionDenied
from services.runtime.principal import Principal, Role
from services.runtime.transactions import Transactions
from services.runtime.validation import parse_id, require_name
from services.tenancy import audit
from services.tenancy.brands import MailBrand, mail_brand_of_supplier, mail_brand_of_tenant
from services.tenancy.mailer import Mailer
from services.tenancy.models import MANAGERS, Joined, User
from services.tenancy.organisations import check_quota, check_staff_role, require_supplier_manager
from services.tenancy.passwords import Passwords, check_email, check_password
from services.tenancy.storage import access as access_storage
from services.tenancy.storage import invitations as storage
from services.tenancy.storage import organisations as org_storage

VALID_FOR = timedelta(days=7)
LISTED = 200  # open invitations listed at most: a plan's number of users keeps a tenant's far below, a team a supplier's


@dataclass(frozen=True)
class Invitation:
    """A recorded invitation and what its mail needs (the token is mailed, never stored)."""

    id: uuid.UUID
    email: str
    role: str
    token: str
    organisation: str  # the tenant's or the supplier's name
    brand: MailBrand
    name: str = ""


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class Invitations:
    def __init__(self, db: Transactions, passwords: Passwords, mailer: Mailer, public_url: str) -> None:
        self._db = db
        self._passwords = passwords
        self._mailer = mailer
        self._public_url = public_url.rstrip("/")

    async def invite(self, caller: Principal, email: str, role: Role) -> uuid.UUID:
        """Record the invitation, then mail the link; the token itself is never stored."""
        tenant_id = caller.require_role(*MANAGERS)
        if role is Role.OWNER and caller.role is not Role.OWNER:
            raise PermissionDenied("only an owner may invite another owner", reason="OWNER_ONLY")
        async with self._db.tenant(tenant_id) as conn:
            await check_quota(conn, tenant_id, "users")
            invitation = await self.record(conn, caller, Joined(tenant_id=tenant_id), email, role.value)
        await self.mail(invitation)
        return invitation.id

    async def invite_staff(self, caller: Principal, supplier_id: str, email: str, role: str) -> uuid.UUID:
        """The operator or the supplier's admin invites someone onto its staff, alike whether or not the
        email has an account (RELIABILITY I4)."""
        target = parse_id("supplier_id", supplier_id)
        check_staff_role(role)
        to = Joined(supplier_id=target)
        async with self._db.transaction(to.settings()) as conn:
            await require_supplier_manager(conn, caller, target)
            invitation = await self.record(conn, caller, to, email, role)
        await self.mail(invitation)
        return invitation.id

    async def record(
        self, conn, caller: Principal, to: Joined, email: str, role: str, name: str = ""
    ) -> Invitation:
        """Record an invitation inside the transaction that has checked it may: the caller's tenant's, which
        has checked the plan's room for one more user (a new tenant's first owner is invited in the
        transaction that creates it), or the supplier's whose staff the caller adds to. ``name`` only greets
        them in the mail, which speaks in the tenant's or the supplier's brand."""
        check_email(email)
        invitation = Invitation(
            uuid.uuid4(),
            email.strip(),
            role,
            f"sfi_{secrets.token_urlsafe(32)}",
            *await self._named(conn, to),
            name.strip()[:120],
        )
        expires = datetime.now(UTC) + VALID_FOR
        await storage.insert(
            conn, to, invitation.id, invitation.email, role, token_hash(invitation.token), caller.subject,
            expires,
        )  # fmt: skip
        await _audit(conn, caller, "invite", to, invitation.email, role)
        return invitation

    async def _named(self, conn, to: Joined) -> tuple[str, MailBrand]:
        """The name of the tenant or supplier the invitation leads to, and the brand its mail speaks in."""
        if to.supplier_id is not None:
            supplier = await org_storage.get_supplier(conn, to.supplier_id)
            return supplier.name, await mail_brand_of_supplier(conn, to.supplier_id, self._public_url)
        brand = await mail_brand_of_tenant(conn, to.tenant_id, self._public_url)
        return await storage.tenant_name(conn, to.tenant_id), brand

    async def mail(self, invitation: Invitation) -> None:
        brand = invitation.brand
        await self._mailer.send(
            invitation.email,
            f"You are invited to {invitation.organisation} on {brand.product}",
            _invitation_body(invitation, brand.link(f"/invite?token={invitation.token}")),
        )

    async def pending(self, caller: Principal) -> list[tuple[uuid.UUID, str, str, str, datetime, datetime]]:
        """The caller's tenant's invitations still waiting, newest first (its owners and admins)."""
        tenant_id = caller.require_role(*MANAGERS)
        async with self._db.tenant(tenant_id) as conn:
            return await storage.open_of(conn, Joined(tenant_id=tenant_id), LISTED)

    async def accept(
        self, caller: Principal, token: str, display_name: str, password: str
    ) -> tuple[User, Joined]:
        """Join the tenant, or the supplier's staff: a new account is made with the password, an existing
        one must prove it."""
        caller.require_service("gateway")
        hashed = token_hash(token)
        async with self._db.transaction({"app.invitation": hashed.hex()}) as conn:
            found = await storage.find_open(conn, hashed)
        if found is None:
            raise FailedPrecondition(
                "this invitation is unknown, used or expired", reason="INVITATION_INVALID"
            )
        joined, email, role = found
        user = await self._user_for(email, display_name, password)
        async with self._db.transaction(joined.settings() | {"app.invitation": hashed.hex()}) as conn:
            if not await storage.mark_accepted(conn, hashed):  # single use, even when two accept at once
                raise FailedPrecondition(
                    "this invitation is unknown, used or expired", reason="INVITATION_INVALID"
                )
            if user[1] is not None:
                await access_storage.insert_user(conn, user[0], user[1])
            await _join(conn, caller, joined, user[0].id, role)
        return user[0], joined

    async def _user_for(self, email: str, display_name: str, password: str) -> tuple[User, str | None]:
        """(user, hash to store) for a new account, or (user, None) for an existing one whose password matched."""
        async with self._db.transaction({}) as conn:
            existing = await access_storage.find_user_by_email(conn, email)
        if existing is not None:
            if not await self._passwords.verify(existing[1], password):
                raise PermissionDenied(
                    "this email already has an account: use its password to accept", reason="PASSWORD"
                )
            return existing[0], None
        check_password(password)
        user = User(uuid.uuid4(), email, require_name("display_name", display_name), False)
        return user, await self._passwords.hash(password)


async def _join(conn, caller: Principal, joined: Joined, user_id: uuid.UUID, role: str) -> None:
    """Make the person a member where the invitation leads, audited there."""
    if joined.supplier_id is not None:
        await org_storage.add_supplier_member(conn, joined.supplier_id, user_id, role)
    else:
        await access_storage.upsert_membership(conn, joined.tenant_id, user_id, Role(role))
    await _audit(conn, caller, "join", joined, str(user_id), role, joined.tenant_id)


async def _audit(
    conn, caller: Principal, verb: str, to: Joined, target: str, role: str, tenant_id: uuid.UUID | None = None
) -> None:
    """`supplier.<verb>` in the supplier's audit log, or `user.<verb>` in the tenant's (``tenant_id``, by
    default the caller's)."""
    await audit.record(
        conn,
        caller,
        f"supplier.{verb}" if to.supplier_id is not None else f"user.{verb}",
        tenant_id=tenant_id,
        supplier_id=to.supplier_id,
        target=target,
        detail={"role": role},
    )


def _invitation_body(invitation: Invitation, link: str) -> str:
    greeting = f"Hello {invitation.name},\n\n" if invitation.name else ""
    return (
        f"{greeting}You have been invited to join {invitation.organisation} on {invitation.brand.product}"
        f" as {invitation.role}.\n\n"
        f"Accept the invitation here (the link works once, for 7 days):\n{link}\n\n"
        "If you did not expect this, ignore this message."
    )
