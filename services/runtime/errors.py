"""The error tree every service shares, translated to gRPC once, at the boundary.

    ServiceError                     INTERNAL (never shown; logged with the trace id)
    ├── InvalidArgument              INVALID_ARGUMENT, with field violations
    ├── NotFound                     NOT_FOUND (also for other tenants' objects)
    ├── AlreadyExists                ALREADY_EXISTS
    ├── FailedPrecondition           FAILED_PRECONDITION
    ├── Unauthenticated              UNAUTHENTICATED
    ├── PermissionDenied             PERMISSION_DENIED
    ├── ResourceExhausted            RESOURCE_EXHAUSTED
    │   └── DatabaseFull             the database's disk is full: nothing was written; retry later
    └── Unavailable                  UNAVAILABLE

Each service subclasses these in its own `errors.py` where it needs a domain
name; each instance carries a stable ``reason`` (UPPER_SNAKE) for clients.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str


class ServiceError(Exception):
    code: grpc.StatusCode = grpc.StatusCode.INTERNAL
    default_reason = "INTERNAL"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        violations: tuple[FieldViolation, ...] = (),
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason
        self.violations = violations
        self.retry_after_s = retry_after_s  # when the same call may succeed (google.rpc.RetryInfo)


class InvalidArgument(ServiceError):
    code = grpc.StatusCode.INVALID_ARGUMENT
    default_reason = "INVALID_ARGUMENT"

    @classmethod
    def of(cls, field: str, description: str, reason: str | None = None) -> InvalidArgument:
        """An error about one field; the reason defaults to the class's own."""
        return cls(f"{field}: {description}", reason=reason, violations=(FieldViolation(field, description),))


class NotFound(ServiceError):
    code = grpc.StatusCode.NOT_FOUND
    default_reason = "NOT_FOUND"


class AlreadyExists(ServiceError):
    code = grpc.StatusCode.ALREADY_EXISTS
    default_reason = "ALREADY_EXISTS"


class FailedPrecondition(ServiceError):
    code = grpc.StatusCode.FAILED_PRECONDITION
    default_reason = "FAILED_PRECONDITION"


class Unauthenticated(ServiceError):
    code = grpc.StatusCode.UNAUTHENTICATED
    default_reason = "UNAUTHENTICATED"


class PermissionDenied(ServiceError):
    code = grpc.StatusCode.PERMISSION_DENIED
    default_reason = "PERMISSION_DENIED"


class ResourceExhausted(ServiceError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    default_reason = "RESOURCE_EXHAUSTED"


class DatabaseFull(ResourceExhausted):
    """PostgreSQL could not write for want of disk space (SQLSTATE 53100). The transaction rolled back whole,
    so nothing of the request is stored; the server lives on and writes again once space returns."""

    default_reason = "DATABASE_FULL"


class Unavailable(ServiceError):
    code = grpc.StatusCode.UNAVAILABLE
    default_reason = "UNAVAILABLE"
