"""All of the tenancy service's SQL, one module per domain. Every function runs inside a transaction
the caller opened (tenant-scoped, or with the narrow settings the row-level-security policies allow)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from psycopg import errors

from services.tenancy.errors import DuplicateName


@contextmanager
def unique_as_duplicate(message: str) -> Iterator[None]:
    """A unique violation becomes DuplicateName; PostgreSQL's DETAIL (the key) never leaves."""
    try:
        yield
    except errors.UniqueViolation:
        raise DuplicateName(message) from None
