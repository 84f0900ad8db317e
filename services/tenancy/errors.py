"""Tenancy's errors, on top of the shared tree in `services.runtime.errors`.

ServiceError
├── InvalidArgument
│   └── WeakPassword           the password is shorter than the minimum
├── NotFound
│   └── UnknownParent          the parent asset does not exist in this tenant
├── AlreadyExists
│   └── DuplicateName          a sibling or user with that name/email exists
└── Unauthenticated
    └── BadCredentials         wrong email or password, unknown device credential
"""

from __future__ import annotations

from services.runtime.errors import AlreadyExists, InvalidArgument, NotFound, Unauthenticated


class WeakPassword(InvalidArgument):
    default_reason = "WEAK_PASSWORD"


class UnknownParent(NotFound):
    default_reason = "PARENT_NOT_FOUND"


class DuplicateName(AlreadyExists):
    default_reason = "DUPLICATE_NAME"


class BadCredentials(Unauthenticated):
    default_reason = "BAD_CREDENTIALS"
