"""Mutation payloads carry the caller's mistakes as typed user errors (field, code, message), so a client
shows them beside the form field instead of parsing an exception; who may do what stays an error."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

import strawberry

from services.runtime import errors

R = TypeVar("R")

# The failures that are the caller's to fix by changing the input; the rest stay GraphQL errors.
USER_MISTAKES = (errors.InvalidArgument, errors.AlreadyExists, errors.FailedPrecondition, errors.NotFound)


@strawberry.type(description="Something wrong with a mutation's input, to show beside the field.")
class UserError:
    field: str | None = strawberry.field(
        description="The argument at fault (camelCase); null for the whole input."
    )
    code: str = strawberry.field(
        description="A stable reason, e.g. INVALID_ARGUMENT, QUOTA_EXCEEDED, NOT_FOUND."
    )
    message: str = strawberry.field(description="What is wrong, for people.")


@strawberry.type(description="The outcome of deleting something (a rule, an endpoint, an asset, a series).")
class DeletePayload:
    deleted: bool = strawberry.field(description="True once it is gone.")
    errors: list[UserError] = strawberry.field(description="Empty when it was deleted.")


def user_errors(error: errors.ServiceError) -> list[UserError]:
    if not error.violations:
        return [UserError(field=None, code=error.reason, message=error.message)]
    return [
        UserError(field=_camel(v.field), code=error.reason, message=v.description) for v in error.violations
    ]


async def attempt(
    call: Awaitable[R], *, also: tuple[type[errors.ServiceError], ...] = ()
) -> tuple[R | None, list[UserError]]:
    """(the call's answer, no errors), or (None, its user errors) when it failed for the input's sake;
    ``also`` names more error kinds that count as the caller's (a quota, say)."""
    try:
        return await call, []
    except (*USER_MISTAKES, *also) as error:
        return None, user_errors(error)


def _camel(field: str) -> str:
    head, *rest = field.split("_")
    return head + "".join(part.capitalize() for part in rest)
