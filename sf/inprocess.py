"""The whole service stack inside one event loop, on loopback sockets: for tests and `sf bench`.

Every service runs exactly as `sf serve` runs it (same composition roots,
real gRPC over TCP, real PostgreSQL and Redis); only the process boundary is
missing, which makes start-up take a second instead of several.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import uvicorn

from gateway.app import server_config
from gateway.config import GatewaySettings
from services.analytics.config import AnalyticsSettings
from services.analytics.server import AnalyticsServer
from services.ingest.config import IngestSettings
from services.ingest.server import IngestServer
from services.runtime.settings import ServiceSettings, role_url
from services.tenancy.config import TenancySettings
from services.tenancy.server import TenancyServer
from services.worker.config import WorkerSettings
from services.worker.server import WorkerServer


class QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its host (the test runner or `sf bench`)."""

    def capture_signals(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    async def start_serving(self) -> asyncio.Task:
        """Serve in the background; returns once it accepts connections (the task: set
        ``should_exit`` and await it to stop)."""
        task = asyncio.create_task(self.serve())
        while not self.started:
            if task.done():
                task.result()  # it failed to start: raise why
            await asyncio.sleep(0.02)
        return task


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class InProcessStack:
    admin_url: str
    redis_url: str
    signing_key: str
    load_demo: bool = False
    worker: bool = (
        False  # the worker also compacts (off by default: most tests need not wait for it); it always exports
    )
    export_dir: str = ""  # the worker's SF_EXPORT_DIR (a fresh temporary folder when empty)
    # tenancy delivers the mail outbox (to the log: no SMTP here); off by default, so the one test of it
    # (tests/support/test_notifications.py) runs the only sender, mailing a local SMTP server
    mail_sender: bool = False
    cells: dict[str, str] = field(default_factory=dict)  # extra database cells: name → admin URL
    targets: dict[str, str] = field(default_factory=dict)
    servers: dict[str, object] = field(default_factory=dict)  # by name, to look at a running server's state
    gateway_url: str = ""
    _servers: list = field(default_factory=list)
    _gateway: QuietServer | None = None
    _gateway_task: asyncio.Task | None = None

    def _service(self, name: str) -> ServiceSettings:
        return ServiceSettings(
            name=name,
            listen="127.0.0.1:0",
            database_url=role_url(self.admin_url, f"sf_{name}", None),
            signing_key=self.signing_key,
            shutdown_grace_s=2,
            cells={cell: role_url(url, f"sf_{name}", None) for cell, url in self.cells.items()},
        )

    async def _start(self, name: str, server) -> None:
        port = await server.start()
        self._servers.append(server)
        self.servers[name] = server
        self.targets[name] = f"127.0.0.1:{port}"

    async def start(self) -> InProcessStack:
        # Tenancy and analytics call each other: analytics' address is chosen before either starts.
        analytics = f"127.0.0.1:{free_port()}"
        tenancy_settings = TenancySettings(
            self._service("tenancy"),
            load_demo=self.load_demo,
            analytics_target=analytics,
            mail_sender=self.mail_sender,
        )
        await self._start("tenancy", TenancyServer(tenancy_settings))
        tenancy = self.targets["tenancy"]
        await self._start(
            "ingest",
            IngestServer(
                IngestSettings(self._service("ingest"), tenancy, self.redis_url, usage_interval_s=1)
            ),
        )
        analytics_service = replace(self._service("analytics"), listen=analytics)
        await self._start("analytics", AnalyticsServer(AnalyticsSettings(analytics_service, tenancy)))
        if not self.export_dir:
            self.export_dir = tempfile.mkdtemp(prefix="sf-exports-")
        await self._start("worker", WorkerServer(replace(self.worker_settings(), compaction=self.worker)))
        await self._start_gateway()
        return self

    def worker_settings(self, consumer: str = "inprocess", claim_idle_s: float = 5.0) -> WorkerSettings:
        return WorkerSettings(
            self._service("worker"),
            self.redis_url,
            consumer,
            claim_idle_s=claim_idle_s,
            poll_s=0.2,
            tenancy_target=self.targets["tenancy"],
            retention_interval_s=0,  # tests run retention passes themselves (tests/worker/test_retention.py)
            alarm_interval_s=0,  # alarm tests start a worker that evaluates them (tests/alarms/)
            anomaly_interval_s=0,  # anomaly tests run scoring passes themselves (tests/analytics/)
            level_interval_s=0,  # level tests run assessment passes themselves (tests/analytics/test_level.py)
            export_sweep_s=0,  # the sweep tests run sweeps themselves (tests/worker/test_redis_loss.py)
            compaction_sweep_s=0,
            analytics_target=self.targets["analytics"],
            export_dir=Path(self.export_dir),
        )

    def gateway_settings(self) -> GatewaySettings:
        return GatewaySettings(
            host="127.0.0.1",
            port=free_port(),
            tenancy_target=self.targets["tenancy"],
            analytics_target=self.targets["analytics"],
            worker_target=self.targets["worker"],
            redis_url=self.redis_url,
            signing_key=self.signing_key,
            usage_interval_s=1,
        )

    async def _start_gateway(self) -> None:
        settings = self.gateway_settings()
        self._gateway = QuietServer(server_config(settings))
        self._gateway_task = await self._gateway.start_serving()
        self.gateway_url = f"http://{settings.host}:{settings.port}"

    async def stop(self) -> None:
        if self._gateway is not None:
            self._gateway.should_exit = True
            await self._gateway_task
        for server in reversed(self._servers):
            await server.stop()
