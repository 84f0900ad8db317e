"""The liveness probes' health name stays SERVING while readiness is NOT_SERVING: an unreachable
database makes pods unready, it does not get them restarted."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.runtime.errors import Unavailable
from services.runtime.grpc_server import LIVENESS, GrpcServer
from services.runtime.tokens import TokenAuthenticator, TokenSigner


async def status(target: str, service: str) -> int:
    async with grpc.aio.insecure_channel(target) as channel:
        request = health_pb2.HealthCheckRequest(service=service)
        return (await health_pb2_grpc.HealthStub(channel).Check(request, timeout=2)).status


async def test_liveness_serves_while_readiness_does_not():
    async def database_down() -> None:
        raise Unavailable("database unreachable")

    server = GrpcServer(
        service_names=["sfcloud.v1.Test"],
        authenticator=TokenAuthenticator(TokenSigner("k" * 32)),
        readiness_checks=[database_down],
    )
    target = f"127.0.0.1:{await server.start('127.0.0.1:0')}"
    try:
        assert await status(target, "") == health_pb2.HealthCheckResponse.NOT_SERVING
        assert await status(target, LIVENESS) == health_pb2.HealthCheckResponse.SERVING
    finally:
        await server.stop(0)
