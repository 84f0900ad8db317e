"""Readiness follows the dependencies: NOT_SERVING while one is unreachable, SERVING again after."""

from __future__ import annotations

import asyncio
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.runtime.errors import Unavailable
from services.runtime.grpc_server import GrpcServer
from services.runtime.tokens import TokenAuthenticator, TokenSigner


async def status(target: str) -> int:
    async with grpc.aio.insecure_channel(target) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2)
        return reply.status


async def seconds_until(target: str, wanted: int, within: float = 10.0) -> float:
    started = time.perf_counter()
    async with asyncio.timeout(within):
        while True:  # polling, as a kubelet does: the flip is what is measured
            if await status(target) == wanted:
                return time.perf_counter() - started
            await asyncio.sleep(0.05)


async def test_readiness_flips_with_the_dependency(signing_key):
    """RELIABILITY D7: Readiness NOT_SERVING while a dependency is unreachable, SERVING again after, each
    within 5 s at the default 2 s interval (a real database and Redis behind a blackholed link:
    tests/faults/test_dependency_faults.py)."""
    reachable = {"database": True}

    async def database_check() -> None:
        if not reachable["database"]:
            raise Unavailable("database unreachable")

    server = GrpcServer(
        service_names=["sfcloud.v1.Test"],
        authenticator=TokenAuthenticator(TokenSigner(signing_key)),
        readiness_checks=[database_check],
    )
    target = f"127.0.0.1:{await server.start('127.0.0.1:0')}"
    try:
        assert await status(target) == health_pb2.HealthCheckResponse.SERVING
        reachable["database"] = False
        assert await seconds_until(target, health_pb2.HealthCheckResponse.NOT_SERVING) <= 5.0
        reachable["database"] = True
        assert await seconds_until(target, health_pb2.HealthCheckResponse.SERVING) <= 5.0
    finally:
        await server.stop(0)
