"""What a password and an email must look like, and the hashing contract the domain needs."""

from __future__ import annotations

import re
from typing import Protocol

from services.runtime.errors import InvalidArgument
from services.tenancy.credentials import MIN_PASSWORD_LENGTH
from services.tenancy.errors import WeakPassword

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Passwords(Protocol):
    async def hash(self, password: str) -> str: ...
    async def verify(self, stored_hash: str | None, password: str) -> bool: ...
    def needs_rehash(self, stored_hash: str) -> bool: ...


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword.of("password", f"must be at least {MIN_PASSWORD_LENGTH} characters")


def check_email(email: str) -> None:
    if not _EMAIL.match(email.strip()):
        raise InvalidArgument.of("email", "is not an email address")
