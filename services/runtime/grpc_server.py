"""Builds, runs and stops one async gRPC server the way every sfcloud service needs it.

Health checking (readiness flips to NOT_SERVING while a dependency is
unreachable), optional reflection, tracing, the authentication/error boundary,
message-size limits, HTTP/2 abuse limits (pings, streams per connection) and graceful
shutdown live here once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry.instrumentation.grpc import aio_server_interceptor

from services.runtime.boundary import Authenticator, BoundaryInterceptor

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Awaitable[None]]
# The health service name a liveness probe asks: SERVING while the process answers at all, so an
# unreachable database makes pods unready (readiness, the service names) but never restarts them.
LIVENESS = "liveness"
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
# Streams one connection may hold open at once (HTTP/2 MAX_CONCURRENT_STREAMS). Without it, gRPC accepted
# every stream of a client opening and resetting thousands at once (CVE-2023-44487, rapid reset): each
# became a call for this process's one thread to start and find cancelled, and other callers' calls
# queued behind them were cancelled (9 of 20 in tests/security/test_transport_abuse.py). With it the
# core refuses the excess itself (REFUSED_STREAM). Not 100: clients learn the limit only from the
# server's first SETTINGS, and 200 streams opened at once on a new connection (channels to one target
# share it) had 86 refused; beyond the limit, once known, clients queue their calls.
MAX_STREAMS_PER_CONNECTION = 500


class GrpcServer:
    """One service's gRPC server: register servicers, then ``start``; ``stop`` drains it."""

    def __init__(
        self,
        *,
        service_names: Sequence[str],
        authenticator: Authenticator,
        readiness_checks: Sequence[ReadinessCheck] = (),
        reflection_enabled: bool = False,
        readiness_interval: float = 2.0,
    ) -> None:
        self.server = grpc.aio.server(
            interceptors=[aio_server_interceptor(), BoundaryInterceptor(authenticator)],
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                ("grpc.so_reuseport", 0),  # a second server on a taken port fails instead of sharing it
                ("grpc.keepalive_permit_without_calls", 0),
                ("grpc.http2.min_ping_interval_without_data_ms", 60_000),
                ("grpc.max_concurrent_streams", MAX_STREAMS_PER_CONNECTION),
            ],
        )
        self._names = list(service_names)
        self._checks = list(readiness_checks)
        self._interval = readiness_interval
        self._health = health.aio.HealthServicer()
        self._watcher: asyncio.Task | None = None
        health_pb2_grpc.add_HealthServicer_to_server(self._health, self.server)
        if reflection_enabled:
            names = [*self._names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name]
            reflection.enable_server_reflection([*names, reflection.SERVICE_NAME], self.server)

    def add_readiness_check(self, check: ReadinessCheck) -> None:
        self._checks.append(check)

    async def start(self, address: str) -> int:
        """Bind ``host:port`` (port 0 picks a free one), start serving, return the port."""
        port = self.server.add_insecure_port(address)
        await self.server.start()
        await self._health.set(LIVENESS, health_pb2.HealthCheckResponse.SERVING)
        await self._refresh_readiness()
        self._watcher = asyncio.create_task(self._watch_readiness())
        return port

    async def stop(self, grace: float = 5.0) -> None:
        """Not serving at once; in-flight calls get ``grace`` seconds to finish."""
        await self._set_status(health_pb2.HealthCheckResponse.NOT_SERVING)
        if self._watcher:
            self._watcher.cancel()
        await self.server.stop(grace)

    async def wait(self) -> None:
        await self.server.wait_for_termination()

    async def _watch_readiness(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self._refresh_readiness()

    async def _refresh_readiness(self) -> None:
        try:
            for check in self._checks:
                await asyncio.wait_for(check(), timeout=max(self._interval, 1.0))
        except Exception as exc:  # any failing dependency means not ready
            log.warning("not ready", extra={"reason": repr(exc)})
            await self._set_status(health_pb2.HealthCheckResponse.NOT_SERVING)
            return
        await self._set_status(health_pb2.HealthCheckResponse.SERVING)

    async def _set_status(self, status: int) -> None:
        for name in ["", *self._names]:
            await self._health.set(name, status)
