"""Accounts the platform operator makes with a password (seeding, moving a tenant or supplier in). Everyone
else joins by invitation with a password of their own, so adding someone never tells whether the email had
an account (RELIABILITY I4)."""

from __future__ import annotations

import uuid

from services.runtime.validation import require_name
from services.tenancy.errors import DuplicateName
from services.tenancy.models import User
from services.tenancy.passwords import Passwords, check_email, check_password
from services.tenancy.storage import access as storage


async def new_account(passwords: Passwords, email: str, password: str, display_name: str) -> tuple[User, str]:
    """The account's user and password hash, after checking what was given (hashed outside a transaction)."""
    check_email(email)
    check_password(password)
    user = User(uuid.uuid4(), email.strip(), require_name("display_name", display_name), False)
    return user, await passwords.hash(password)


async def insert_account(conn, user: User, password_hash: str) -> None:
    """Store the account; an email that has one already is ALREADY_EXISTS (the operator may know that)."""
    if await storage.find_user_by_email(conn, user.email) is not None:
        raise DuplicateName("an account has this email already: invite it instead")
    await storage.insert_user(conn, user, password_hash)
