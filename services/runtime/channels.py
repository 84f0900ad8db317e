"""Client channels to other sfcloud services: traced, size-limited, with deadlines."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from opentelemetry.instrumentation.grpc import aio_client_interceptors

from services.runtime import errors
from services.runtime.grpc_server import MAX_MESSAGE_BYTES
from services.runtime.principal import Principal
from services.runtime.tokens import METADATA_KEY, TokenSigner

DEFAULT_DEADLINE_S = 10.0
R = TypeVar("R")


def open_channel(target: str) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(
        target,
        interceptors=aio_client_interceptors(),
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.keepalive_time_ms", 30_000),
        ],
    )


class CallerIdentity:
    """Turns a principal into the metadata of one call to another service."""

    def __init__(self, signer: TokenSigner) -> None:
        self._signer = signer

    def metadata(self, principal: Principal) -> tuple[tuple[str, str], ...]:
        return ((METADATA_KEY, self._signer.sign(principal)),)

    async def call(self, method: Callable[..., Awaitable[R]], request: object, principal: Principal) -> R:
        """One unary call as ``principal``, with the default deadline; a failure as our own error."""
        try:
            return await method(request, metadata=self.metadata(principal), timeout=DEFAULT_DEADLINE_S)
        except grpc.aio.AioRpcError as exc:
            raise translate_rpc_error(exc) from None


_BY_CODE = {
    grpc.StatusCode.INVALID_ARGUMENT: errors.InvalidArgument,
    grpc.StatusCode.NOT_FOUND: errors.NotFound,
    grpc.StatusCode.ALREADY_EXISTS: errors.AlreadyExists,
    grpc.StatusCode.FAILED_PRECONDITION: errors.FailedPrecondition,
    grpc.StatusCode.UNAUTHENTICATED: errors.Unauthenticated,
    grpc.StatusCode.PERMISSION_DENIED: errors.PermissionDenied,
    grpc.StatusCode.RESOURCE_EXHAUSTED: errors.ResourceExhausted,
    grpc.StatusCode.UNAVAILABLE: errors.Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: errors.Unavailable,
}


def translate_rpc_error(exc: grpc.aio.AioRpcError) -> errors.ServiceError:
    """Another service's status as our own error, keeping its message, reason and field violations."""
    cls = _BY_CODE.get(exc.code(), errors.ServiceError)
    reason, violations = None, ()
    status = rpc_status.from_call(exc)
    if status is not None:
        for detail in status.details:
            info, bad = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
            if detail.Unpack(info):
                reason = info.reason
            elif detail.Unpack(bad):
                violations = tuple(
                    errors.FieldViolation(v.field, v.description) for v in bad.field_violations
                )
    return cls(exc.details() or exc.code().name, reason=reason, violations=violations)
