"""Checks on request fields that every service makes the same way."""

from __future__ import annotations

import uuid
from datetime import date

from services.runtime.errors import InvalidArgument

# Ingest refuses a point further ahead of its clock than this, so readers know nothing stored lies later.
FUTURE_TOLERANCE_NS = 86_400 * 10**9


def parse_id(field: str, value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidArgument.of(field, "must be a UUID") from None


def require_name(field: str, value: str, max_length: int = 120) -> str:
    value = _storable(field, value).strip()
    if not value or len(value) > max_length:
        raise InvalidArgument.of(field, f"must be 1 to {max_length} characters")
    return value


def limit_text(field: str, value: str, max_length: int) -> str:
    """Free text, trimmed, of at most ``max_length`` characters (it may be empty)."""
    value = _storable(field, value).strip()
    if len(value) > max_length:
        raise InvalidArgument.of(field, f"must be at most {max_length} characters")
    return value


def _storable(field: str, value: str) -> str:
    """PostgreSQL text cannot hold the NUL character: refused here by name rather than by the database."""
    if "\x00" in value:
        raise InvalidArgument.of(field, "must not contain the NUL character (U+0000)")
    return value


def parse_day(field: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidArgument.of(field, "must be a date like 2026-11-29") from None
