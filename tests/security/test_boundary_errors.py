"""The gRPC boundary (services/runtime/boundary.py) over a real socket: a value PostgreSQL refused that
validation missed is the caller's INVALID_ARGUMENT, without the database's words; anything else unexpected is
INTERNAL with a trace id and nothing of the exception."""

from __future__ import annotations

import grpc
import psycopg
import pytest

from services.runtime.boundary import BoundaryInterceptor
from services.runtime.principal import Kind, Principal

SECRET = "relation tenancy.users column password_hash"  # what must never reach a caller


class Anyone:
    async def authenticate(self, metadata) -> Principal:
        return Principal(Kind.SERVICE, "test")


def failing(exc: Exception) -> grpc.RpcMethodHandler:
    async def handler(request: bytes, context) -> bytes:
        raise exc

    return grpc.unary_unary_rpc_method_handler(handler)


@pytest.fixture
async def target():
    server = grpc.aio.server(interceptors=[BoundaryInterceptor(Anyone())])
    handlers = {
        "DataError": failing(psycopg.errors.CharacterNotInRepertoire(f"invalid byte 0x00 in {SECRET}")),
        "Bug": failing(RuntimeError(SECRET)),
    }
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler("test.Boundary", handlers)])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield f"127.0.0.1:{port}"
    await server.stop(None)


async def call(target: str, method: str) -> grpc.aio.AioRpcError:
    async with grpc.aio.insecure_channel(target) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await channel.unary_unary(f"/test.Boundary/{method}")(b"", timeout=5)
    return refused.value


async def test_a_value_the_database_refused_is_invalid_argument_without_its_words(target):
    refused = await call(target, "DataError")
    assert refused.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.details() == "a value in the request cannot be stored or compared as given"


async def test_an_unexpected_error_is_internal_with_a_trace_id_only(target):
    refused = await call(target, "Bug")
    assert refused.code() == grpc.StatusCode.INTERNAL
    assert refused.details().startswith("internal error (trace ") and SECRET not in refused.details()
