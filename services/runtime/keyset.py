"""Keyset pages of a list read in a fixed order (mostly newest first): the page token names the last row's
sort key, and the next page's SQL asks for rows past it (``WHERE (at, id) < (%s, %s) ORDER BY at DESC, id
DESC``, or ``>`` for a list read in ascending order), so a page costs an index step however deep it lies,
and rows added meanwhile neither repeat nor hide others.

A token is opaque to callers (URL-safe base64 of the key as JSON) and checked on the way back: one that
does not decode into the list's key is INVALID_ARGUMENT, never a silent first page.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from services.runtime.errors import InvalidArgument

Row = TypeVar("Row")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value) if isinstance(value, uuid.UUID) else value


def _aware(text: str) -> datetime:
    found = datetime.fromisoformat(text)
    if found.tzinfo is None:
        raise ValueError("a time without its zone")
    return found


def _text(value: Any) -> str:
    if not isinstance(value, str) or "\x00" in value:  # PostgreSQL text never holds NUL: no row's key did
        raise ValueError("not text")
    return value


_PARSE: dict[type, Callable[[Any], Any]] = {datetime: _aware, uuid.UUID: uuid.UUID, int: int, str: _text}


def token_after(key: Sequence[Any]) -> str:
    """The token of the page that follows the row with this sort key."""
    return base64.urlsafe_b64encode(json.dumps([_plain(v) for v in key]).encode()).decode()


def key_after(token: str, *kinds: type) -> tuple:
    """The sort key a token names, each part of its kind (datetime, uuid.UUID, int or str); all None for the
    first page (an empty token), ready to be SQL parameters."""
    if not token:
        return (None,) * len(kinds)
    try:
        parts = json.loads(base64.urlsafe_b64decode(token.encode()))
        if not isinstance(parts, list) or len(parts) != len(kinds):
            raise ValueError("another list's token")
        return tuple(_PARSE[kind](part) for kind, part in zip(kinds, parts, strict=True))
    except (ValueError, TypeError, AttributeError):
        raise InvalidArgument.of("page_token", "is not a token this list gave out") from None


def page_size(requested: int, default: int, most: int) -> int:
    """The page size to read: ``default`` when the caller named none, never more than ``most``."""
    return min(max(requested or default, 1), most)


def cut(rows: Sequence[Row], size: int, key: Callable[[Row], Sequence[Any]]) -> tuple[list[Row], str]:
    """A page from ``size + 1`` rows read: the first ``size``, and the next page's token when the extra row
    shows there is one (so the last page says so, not an empty page after it)."""
    shown = list(rows[:size])
    return shown, token_after(key(shown[-1])) if len(rows) > size else ""
