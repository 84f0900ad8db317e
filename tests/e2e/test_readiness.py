"""Readiness follows the dependencies: NOT_SERVING while one is unreachable, SERVING again after."""

from __future__ import annotations

import asyncio

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.runtime.errors import Unavailable
from services.runtime.grpc_server import GrpcServer
from services.runtime.tokens import TokenAuthenticator, TokenSigner


async def status(target: str) -> int:
    async with grpc.aio.insecure_channel(target) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2)
        return reply.status


async def test_readiness_flips_with_the_dependency(signing_key):
    """RELIABILITY D7: Readiness NOT_SERVING while a dependency is unreachable, SERVING again after."""
    reachable = {"database": True}

    async def database_check() -> None:
        if not reachable["database"]:
            raise Unavailable("database unreachable")

    server = GrpcServer(
        service_names=["sfcloud.v1.Test"],
        authenticator=TokenAuthenticator(TokenSigner(signing_key)),
        readiness_checks=[database_check],
        readiness_interval=0.1,
    )
    target = f"127.0.0.1:{await server.start('127.0.0.1:0')}"
    try:
        assert await status(target) == health_pb2.HealthCheckResponse.SERVING
        reachable["database"] = False
        await asyncio.sleep(0.5)
        assert await status(target) == health_pb2.HealthCheckResponse.NOT_SERVING
        reachable["database"] = True
        await asyncio.sleep(0.5)
        assert await status(target) == health_pb2.HealthCheckResponse.SERVING
    finally:
        await server.stop(0)
