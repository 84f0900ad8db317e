"""A real sfcloud service as a child OS process (`sf serve NAME`), so a test can `kill -9` it and start it again.

The in-process stack (`sf.inprocess`) cannot lose a process; crash tests
(RELIABILITY.md D1, D2) need one that really dies, mid-transaction, with its
sockets and database connections torn down by the kernel.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.runtime.settings import role_url
from sf.inprocess import InProcessStack

SF = Path(sys.executable).with_name("sf")  # the console script installed beside our interpreter
REPO = Path(__file__).resolve().parents[2]
LOG_TAIL_BYTES = 4000
# Poll a port that is not listening yet without gRPC's reconnect backoff (1 s, growing) delaying the answer.
PROBE_OPTIONS = [("grpc.initial_reconnect_backoff_ms", 100), ("grpc.max_reconnect_backoff_ms", 200)]


class ServiceProcessError(Exception):
    """The service did not come up; the message ends with the tail of its log."""


def ingest_env(stack: InProcessStack) -> dict[str, str]:
    """`sf serve ingest`'s SF_ variables for the stack's database, Redis, signing key and tenancy."""
    env = {
        "SF_DATABASE_URL": stack.admin_url,
        "SF_INGEST_DATABASE_URL": role_url(stack.admin_url, "sf_ingest", None),
        "SF_REDIS_URL": stack.redis_url,
        "SF_SIGNING_KEY": stack.signing_key,
        "SF_TENANCY_TARGET": stack.targets["tenancy"],
        "SF_SHUTDOWN_GRACE_S": "2",
        "SF_USAGE_REPORT_S": "1",
    }
    if stack.cells:
        env["SF_CELLS"] = ",".join(f"{name}={url}" for name, url in stack.cells.items())
    return env


def tenancy_env(stack: InProcessStack) -> dict[str, str]:
    """`sf serve tenancy`'s SF_ variables for the stack's database, signing key and analytics."""
    return {
        "SF_DATABASE_URL": stack.admin_url,
        "SF_SIGNING_KEY": stack.signing_key,
        "SF_ANALYTICS_TARGET": stack.targets["analytics"],
        "SF_SHUTDOWN_GRACE_S": "2",
    }


def child_environment(env: dict[str, str]) -> dict[str, str]:
    """Ours (PATH, locale, HOME) without any SF_ variable of the test run, plus the service's own."""
    inherited = {key: value for key, value in os.environ.items() if not key.startswith("SF_")}
    return {**inherited, **env}


class ServiceProcess:
    """`sf serve NAME` listening on 127.0.0.1:``listen_port``; its output goes to ``log_path``."""

    def __init__(self, name: str, env: dict[str, str], listen_port: int, log_dir: Path | None = None) -> None:
        self.name = name
        self.target = f"127.0.0.1:{listen_port}"
        self.env = child_environment({**env, f"SF_{name.upper()}_LISTEN": self.target})
        self.log_path = Path(log_dir or tempfile.mkdtemp(prefix=f"sf-{name}-")) / f"{name}.log"
        self._process: asyncio.subprocess.Process | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int:
        """The running process's id (for measuring its CPU time and memory)."""
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def start(self, within: float = 30.0) -> None:
        """Spawn the process and wait until its health check says SERVING."""
        self._log = self.log_path.open("ab")
        self._log.write(f"--- sf serve {self.name} at {time.strftime('%H:%M:%S')}\n".encode())
        self._log.flush()
        self._process = await asyncio.create_subprocess_exec(
            SF, "serve", self.name, env=self.env, cwd=REPO, stdout=self._log, stderr=self._log
        )
        try:
            async with asyncio.timeout(within):
                await self._wait_serving()
        except TimeoutError:
            await self.kill()
            raise ServiceProcessError(self._failure(f"was not SERVING within {within} s")) from None

    async def kill(self) -> int:
        """SIGKILL: a crash, with no shutdown code run; returns the exit status (-9)."""
        return await self._stop(signal.SIGKILL)

    async def terminate(self, grace: float = 15.0) -> int:
        """SIGTERM: the graceful shutdown Kubernetes asks for; SIGKILL if it takes over ``grace`` s."""
        try:
            async with asyncio.timeout(grace):
                return await self._stop(signal.SIGTERM)
        except TimeoutError:
            return await self.kill()

    async def restart(self) -> None:
        """Start again on the same port, killing the process first if it still runs."""
        if self.running:
            await self.kill()
        await self.start()

    async def __aenter__(self) -> ServiceProcess:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self.running:
            await self.kill()

    async def _stop(self, sig: signal.Signals) -> int:
        if self.running:
            self._process.send_signal(sig)
        code = await self._process.wait()
        self._log.close()
        return code

    async def _wait_serving(self) -> None:
        async with grpc.aio.insecure_channel(self.target, options=PROBE_OPTIONS) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while True:  # polling: a starting process has nothing to wait on
                if await self._serving(stub):
                    return
                await asyncio.sleep(0.1)

    async def _serving(self, stub: health_pb2_grpc.HealthStub) -> bool:
        if not self.running:
            raise ServiceProcessError(self._failure(f"exited with {self._process.returncode}"))
        try:
            reply = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1)
        except grpc.aio.AioRpcError:  # not listening yet: ask again
            return False
        return reply.status == health_pb2.HealthCheckResponse.SERVING

    def _failure(self, what: str) -> str:
        self._log.flush()
        tail = self.log_path.read_bytes()[-LOG_TAIL_BYTES:].decode(errors="replace")
        return f"sf serve {self.name} on {self.target} {what}; the end of {self.log_path}:\n{tail}"
