"""`sf serve NAME`: run one sfcloud process in the foreground, as Kubernetes will.

SIGTERM or SIGINT: readiness turns NOT_SERVING, in-flight calls get the grace
period to finish, pools close, the process exits 0.
"""

from __future__ import annotations

import asyncio
import importlib
import signal
from collections.abc import Callable
from functools import partial
from typing import Protocol

from services.runtime.config import Env
from services.runtime.logs import configure_logging
from services.runtime.memory import DEFAULT_ARENAS, freeze_startup_objects, limit_malloc_arenas
from services.runtime.telemetry import configure_from_setting


class Runnable(Protocol):
    async def start(self) -> int: ...
    async def stop(self) -> None: ...


# name → (settings class, server class), imported only for the process being started.
SERVICES = {
    "tenancy": ("services.tenancy.config:TenancySettings", "services.tenancy.server:TenancyServer"),
    "ingest": ("services.ingest.config:IngestSettings", "services.ingest.server:IngestServer"),
    "analytics": ("services.analytics.config:AnalyticsSettings", "services.analytics.server:AnalyticsServer"),
    "worker": ("services.worker.config:WorkerSettings", "services.worker.server:WorkerServer"),
}


def _load(path: str) -> type:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def build(name: str, env: Env) -> tuple[Callable[[], Runnable], str]:
    """A factory of the service's server and its OTel exporter setting (config errors raise here).

    The server itself is built inside the event loop: grpc.aio binds to the loop it is created in.
    """
    settings_path, server_path = SERVICES[name]
    settings = _load(settings_path).from_env(env)
    return partial(_load(server_path), settings), settings.service.otel_exporter


async def run_until_signalled(make_server: Callable[[], Runnable]) -> None:
    server = make_server()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    freeze_startup_objects()
    await stop.wait()
    await server.stop()


def serve(name: str, env: Env | None = None) -> None:
    env = env or Env()
    limit_malloc_arenas(env.int("SF_MALLOC_ARENAS", DEFAULT_ARENAS, minimum=1, maximum=1024))
    configure_logging(name, env.str("SF_LOG_LEVEL", "INFO"))
    if name == "gateway":
        serve_gateway(env)
        return
    make_server, exporter = build(name, env)
    configure_from_setting(name, exporter)
    asyncio.run(run_until_signalled(make_server))


def serve_gateway(env: Env) -> None:
    import uvicorn

    from gateway.app import server_config
    from gateway.config import GatewaySettings

    settings = GatewaySettings.from_env(env)
    configure_from_setting("gateway", settings.otel_exporter)
    uvicorn.Server(server_config(settings)).run()
