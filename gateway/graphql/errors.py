"""Errors leave the API with a stable `extensions.code`; nothing unexpected leaks.

| code | when |
| --- | --- |
| `UNAUTHENTICATED` | no valid session or key |
| `FORBIDDEN` | signed in, but the role does not allow it |
| `NOT_FOUND` | no such object in your tenant (other tenants' objects too) |
| `BAD_USER_INPUT` | an argument is malformed, or the query is invalid |
| `RATE_LIMITED` | over a quota, a key's or person's requests a minute (HTTP 429), or the live limits; retry later |
| `PERSISTED_QUERY_NOT_FOUND` | a persisted query's hash is unknown: send the query with it (`persisted.py`) |
| `UNAVAILABLE` | a backing service is down; retry |
| `INTERNAL` | anything else; the message carries only a trace id |
"""

from __future__ import annotations

import logging

from graphql.error import GraphQLError
from opentelemetry import trace
from strawberry.extensions import MaskErrors

from services.runtime import errors

log = logging.getLogger(__name__)

CODES: dict[type[errors.ServiceError], str] = {
    errors.Unauthenticated: "UNAUTHENTICATED",
    errors.PermissionDenied: "FORBIDDEN",
    errors.NotFound: "NOT_FOUND",
    errors.InvalidArgument: "BAD_USER_INPUT",
    errors.AlreadyExists: "BAD_USER_INPUT",
    errors.FailedPrecondition: "BAD_USER_INPUT",
    errors.ResourceExhausted: "RATE_LIMITED",
    errors.Unavailable: "UNAVAILABLE",
}


def code_for(error: errors.ServiceError) -> str:
    return next((code for cls, code in CODES.items() if isinstance(error, cls)), "INTERNAL")


class ApiError(Exception):
    """An expected failure raised inside the gateway itself (graphql-core keeps `extensions`)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.extensions = {"code": code}


def _refused_literal(error: GraphQLError) -> bool:
    return isinstance(error.original_error, ValueError) and not error.path


def _needs_work(error: GraphQLError) -> bool:
    return not (error.extensions or {}).get("code")


class ErrorBoundary(MaskErrors):
    """Gives every error a code: service errors keep their message, unexpected ones are masked."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=_needs_work)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        # a syntax or validation error, a variable's value its type refuses (a scalar's parser said why),
        # or a literal argument its scalar refuses (validation wraps the parser's ValueError, before
        # anything runs, so without a path): the message helps the developer
        if original is None or isinstance(original, GraphQLError) or _refused_literal(error):
            return GraphQLError(
                error.message,
                error.nodes,
                error.source,
                error.positions,
                error.path,
                extensions={"code": "BAD_USER_INPUT"},
            )
        if isinstance(original, errors.ServiceError):
            extensions = {"code": code_for(original), "reason": original.reason}
            return GraphQLError(
                original.message,
                error.nodes,
                error.source,
                error.positions,
                error.path,
                extensions=extensions,
            )
        trace_id = format(trace.get_current_span().get_span_context().trace_id, "032x")
        log.error("unexpected GraphQL error", exc_info=original, extra={"trace_id": trace_id})
        return GraphQLError(
            f"Unexpected error (trace {trace_id}).",
            error.nodes,
            error.source,
            error.positions,
            error.path,
            extensions={"code": "INTERNAL"},
        )
