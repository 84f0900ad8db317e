"""Inviting people into a tenant: an expiring, single-use token sent by email, accepted once."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from services.runtime.errors import FailedPrecondition, PermissionDenied
from services.runtime.principal import Principal, Role
from services.runtime.transactions import Transactions
from services.runtime.validation import require_name
from services.tenancy import audit
from services.tenancy.mailer import Mailer
from services.tenancy.models import MANAGERS, User
from services.tenancy.organisations import check_quota
from services.tenancy.passwords import Passwords, check_email, check_password
from services.tenancy.storage import access as access_storage
from services.tenancy.storage import invitations as storage

VALID_FOR = timedelta(days=7)
LISTED = 200  # open invitations listed at most; a plan's number of users keeps a tenant's far below


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
        check_email(email)
        if role is Role.OWNER and caller.role is not Role.OWNER:
            raise PermissionDenied("only an owner may invite another owner", reason="OWNER_ONLY")
        token = f"sfi_{secrets.token_urlsafe(32)}"
        invitation_id = uuid.uuid4()
        async with self._db.tenant(tenant_id) as conn:
            await check_quota(conn, tenant_id, "users")
            tenant_name = await storage.tenant_name(conn, tenant_id)
            await storage.insert(
                conn,
                tenant_id,
                invitation_id,
                email.strip(),
                role.value,
                token_hash(token),
                caller.subject,
                datetime.now(UTC) + VALID_FOR,
            )
            await audit.record(conn, caller, "user.invite", target=email.strip(), detail={"role": role.value})
        await self._mailer.send(
            email.strip(),
            f"You are invited to {tenant_name} on sfcloud",
            _invitation_body(tenant_name, role.value, f"{self._public_url}/invite?token={token}"),
        )
        return invitation_id

    async def pending(self, caller: Principal) -> list[tuple[uuid.UUID, str, str, str, datetime, datetime]]:
        """The caller's tenant's invitations still waiting, newest first (its owners and admins)."""
        tenant_id = caller.require_role(*MANAGERS)
        async with self._db.tenant(tenant_id) as conn:
            return await storage.open_of_tenant(conn, tenant_id, LISTED)

    async def accept(
        self, caller: Principal, token: str, display_name: str, password: str
    ) -> tuple[User, uuid.UUID]:
        """Join the tenant: a new account is made with the password, an existing one must prove it."""
        caller.require_service("gateway")
        hashed = token_hash(token)
        async with self._db.transaction({"app.invitation": hashed.hex()}) as conn:
            found = await storage.find_open(conn, hashed)
        if found is None:
            raise FailedPrecondition(
                "this invitation is unknown, used or expired", reason="INVITATION_INVALID"
            )
        tenant_id, email, role = found
        user = await self._user_for(email, display_name, password)
        async with self._db.transaction(
            {"app.tenant_id": str(tenant_id), "app.invitation": hashed.hex()}
        ) as conn:
            if not await storage.mark_accepted(conn, hashed):  # single use, even when two accept at once
                raise FailedPrecondition(
                    "this invitation is unknown, used or expired", reason="INVITATION_INVALID"
                )
            if user[1] is not None:
                await access_storage.insert_user(conn, user[0], user[1])
            await access_storage.upsert_membership(conn, tenant_id, user[0].id, Role(role))
            await audit.record(
                conn, caller, "user.join", tenant_id=tenant_id, target=str(user[0].id), detail={"role": role}
            )
        return user[0], tenant_id

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


def _invitation_body(tenant: str, role: str, link: str) -> str:
    return (
        f"You have been invited to join {tenant} on sfcloud as {role}.\n\n"
        f"Accept the invitation here (the link works once, for 7 days):\n{link}\n\n"
        "If you did not expect this, ignore this message."
    )
