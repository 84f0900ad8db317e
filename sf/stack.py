"""`sf up`: the whole stack on one machine, with the demo tenant and a simulated factory.

Starts PostgreSQL and Redis (embedded, unless `SF_DATABASE_URL` / `SF_REDIS_URL`
are set), applies migrations, then each process as a child (`sf serve NAME`)
in dependency order, waiting for each to report healthy, then the demo
factory. Ctrl-C (or SIGTERM) stops the children, then Redis and PostgreSQL.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.runtime.settings import parse_cells
from sf.embedded import EmbeddedPostgres, EmbeddedRedis
from sf.migrate import migrate
from sf.processes import LOCAL_ONLY, PROCESSES, Process, stages


class StackError(Exception):
    """The stack could not start; the message says what to do about it."""


def ensure_free(address: str, variable: str) -> None:
    host, _, port = address.rpartition(":")
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT from a last run is fine
        try:
            probe.bind((host, int(port)))
        except OSError:
            raise StackError(f"{address} is already in use: stop what runs there or set {variable}") from None


@dataclass
class Stack:
    data_dir: Path
    gateway_port: int = 8000
    simulate: bool = True
    children: list[subprocess.Popen] = field(default_factory=list)
    embedded: list = field(default_factory=list)

    def environment(self) -> dict[str, str]:
        """The child processes' environment: the caller's, plus what this stack provides."""
        env = dict(os.environ)
        if not env.get("SF_DATABASE_URL"):
            postgres = EmbeddedPostgres(self.data_dir / "postgres")
            env["SF_DATABASE_URL"] = postgres.start()
            self.embedded.append(postgres)
        if not env.get("SF_REDIS_URL"):
            redis = EmbeddedRedis(self.data_dir / "redis")
            env["SF_REDIS_URL"] = redis.start()
            self.embedded.append(redis)
        env.setdefault("SF_SIGNING_KEY", signing_key(self.data_dir / "signing.key"))
        for process in PROCESSES:
            port = self.gateway_port if process.name == "gateway" else process.port
            env.setdefault(process.listen_variable, f"127.0.0.1:{port}")
        for process in PROCESSES:
            if process.target_variable:
                env.setdefault(process.target_variable, env[process.listen_variable])
        env.setdefault("SF_EXPORT_DIR", str(self.data_dir / "exports"))
        for name, value in LOCAL_ONLY.items():  # the demo tenant; webhooks to local receivers
            env.setdefault(name, value)
        return env

    def start(self) -> dict[str, str]:
        env = self.environment()
        for process in PROCESSES:
            variable = process.listen_variable
            ensure_free(env[variable], variable + (" or --port" if process.name == "gateway" else ""))
        migrate(env["SF_DATABASE_URL"], env.get("SF_DATABASE_APP_PASSWORD"), parse_cells(env.get("SF_CELLS")))
        for stage in stages():
            for process in stage:
                self._spawn(list(process.args), env)
            for process in stage:
                self._wait_ready(process, env)
        self._spawn(["daily"], env)  # partitions ahead, old weeks dropped, cancelled tenants purged
        if self.simulate:
            self._spawn(["simulate", "--backfill", "600"], env)
        return env

    def _wait_ready(self, process: Process, env: dict[str, str]) -> None:
        address = env[process.listen_variable]
        if process.health == "grpc":
            wait_grpc_healthy(address, self.children)
        else:
            wait_http_ready(f"http://{address}/readyz", self.children)

    def _spawn(self, args: list[str], env: dict[str, str]) -> None:
        log = open(self.data_dir / f"{'-'.join(args[:2])}.log", "ab")
        command = [sys.executable, "-m", "sf", *args]  # our own interpreter and module: trusted
        self.children.append(subprocess.Popen(command, env=env, stdout=log, stderr=log))  # noqa: S603

    def wait(self) -> int:
        """Block until a child exits or a stop signal arrives; returns the exit code to use."""
        stopping: list[int] = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda number, _frame: stopping.append(number))
        while not stopping:
            exited = [c for c in self.children if c.poll() is not None]
            if exited:
                print(f"sf up: {' '.join(exited[0].args[2:])} exited with {exited[0].returncode}; stopping")
                return 1
            time.sleep(0.2)
        return 0

    def stop(self) -> None:
        for child in reversed(self.children):
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in reversed(self.children):
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                child.kill()
        for part in reversed(self.embedded):
            part.stop()


def signing_key(path: Path) -> str:
    """The development signing key, made once and kept with the data (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _check_children(children: list[subprocess.Popen]) -> None:
    for child in children:
        if child.poll() is not None:
            args = child.args[3:]
            log = "-".join(args[:2]) + ".log"
            raise StackError(
                f"sf {' '.join(args)} exited with {child.returncode} while starting; see {log} in the data folder"
            )


def wait_grpc_healthy(target: str, children: list[subprocess.Popen], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            _check_children(children)
            with contextlib.suppress(grpc.RpcError):  # not listening yet: poll again
                reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            time.sleep(0.1)
    raise StackError(f"{target} did not become healthy within {timeout} s")


def wait_http_ready(url: str, children: list[subprocess.Popen], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _check_children(children)
        with contextlib.suppress(httpx.HTTPError):  # not listening yet: poll again
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise StackError(f"{url} did not become ready within {timeout} s")
