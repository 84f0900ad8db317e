"""Client channels to other sfcloud services: traced, size-limited, with deadlines."""

from __future__ import annotations

import grpc
from opentelemetry.instrumentation.grpc import aio_client_interceptors

from services.runtime.grpc_server import MAX_MESSAGE_BYTES
from services.runtime.principal import Principal
from services.runtime.tokens import METADATA_KEY, TokenSigner

DEFAULT_DEADLINE_S = 10.0


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
