"""Password reset by email: a single-use token valid for an hour. Asking never reveals whether
an account exists; setting a new password also lifts a lockout."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from services.runtime.errors import FailedPrecondition
from services.runtime.principal import Principal
from services.runtime.transactions import Transactions
from services.tenancy import audit
from services.tenancy.brands import mail_brand_of_user
from services.tenancy.invitations import token_hash
from services.tenancy.mailer import Mailer
from services.tenancy.passwords import Passwords, check_password
from services.tenancy.storage import access as access_storage
from services.tenancy.storage import invitations as storage

VALID_FOR = timedelta(hours=1)


class Recovery:
    def __init__(self, db: Transactions, passwords: Passwords, mailer: Mailer, public_url: str) -> None:
        self._db = db
        self._passwords = passwords
        self._mailer = mailer
        self._public_url = public_url.rstrip("/")

    async def request_reset(self, caller: Principal, email: str) -> None:
        caller.require_service("gateway")
        token = f"sfr_{secrets.token_urlsafe(32)}"
        async with self._db.transaction({}) as conn:
            found = await access_storage.find_user_by_email(conn, email.strip())
            if found is None:
                await audit.record(
                    conn, caller, "password.reset_request", target=email.strip()[:200], outcome="failed"
                )
                return
            await storage.insert_reset(conn, token_hash(token), found[0].id, datetime.now(UTC) + VALID_FOR)
            await audit.record(conn, caller, "password.reset_request", target=str(found[0].id))
        async with self._db.transaction({"app.user_id": str(found[0].id)}) as conn:
            brand = await mail_brand_of_user(conn, found[0].id, self._public_url)
        await self._mailer.send(
            found[0].email,
            f"Reset your {brand.product} password",
            (
                f"Someone asked to reset the password of {found[0].email} on {brand.product}.\n\n"
                f"Choose a new password here (the link works once, for one hour):\n{brand.link(f'/reset?token={token}')}\n\n"
                "If it was not you, ignore this message: your password stays as it is."
            ),
        )

    async def reset_password(self, caller: Principal, token: str, new_password: str) -> None:
        caller.require_service("gateway")
        check_password(new_password)
        password_hash = await self._passwords.hash(new_password)
        async with self._db.transaction({}) as conn:
            user_id = await storage.use_reset(conn, token_hash(token))
            if user_id is None:
                raise FailedPrecondition(
                    "this reset link is unknown, used or expired", reason="RESET_INVALID"
                )
            await access_storage.set_password(conn, user_id, password_hash)
            await audit.record(conn, caller, "password.reset", target=str(user_id))
