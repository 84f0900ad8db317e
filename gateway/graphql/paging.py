"""The house shape of a paged list: `<Type>Connection { nodes, pageInfo }` with `first` and `after`
arguments (docs/API.md, "Pagination"). The services page by keyset and hand back an opaque token; this
module only checks `first` and turns the token into `pageInfo`, so every connection answers alike. A
`first` outside its range given in the document or its variables is refused before anything runs (the
cost rule, `cost.py`); the resolvers check it again for any way round that."""

from __future__ import annotations

from typing import Annotated

import strawberry

from services.runtime import errors

MAX_FIRST = 200  # the most nodes a page of a connection holds, unless the field is listed below
MOST_FIRST = {"auditEvents": 500}  # connections allowing larger pages, by field name


def most_first(field: str) -> int:
    """The largest `first` the connection ``field`` allows (checked before execution by `cost.py`)."""
    return MOST_FIRST.get(field, MAX_FIRST)


After = Annotated[
    str | None, strawberry.argument(description="The previous page's `endCursor`; null for the first.")
]


@strawberry.type(description="A page of a list, and where the next one starts.")
class PageInfo:
    end_cursor: str | None = strawberry.field(
        description="Pass as `after` for the next page; null at the end."
    )
    has_next_page: bool


def page_info_from(token: str) -> PageInfo:
    """`pageInfo` from a service's next page token (empty after the last page)."""
    return PageInfo(end_cursor=token or None, has_next_page=bool(token))


def checked_first(first: int, most: int = MAX_FIRST) -> int:
    """`first` as asked, or BAD_USER_INPUT outside 1..most (never quietly fewer)."""
    if not 1 <= first <= most:
        raise errors.InvalidArgument.of("first", f"must be between 1 and {most}")
    return first
