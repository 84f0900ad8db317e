"""The edge agent as a child process (`sf edge run`), fed by a private Mosquitto, for crash tests."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import yaml

from tests.faults.processes import REPO, SF, child_environment


def agent_config(
    directory: Path, target: str, broker_port: int, client_id: str, batch_points: int = 1_000, **forward
) -> Path:
    """A configuration for one MQTT source and fast retries (a test cannot wait out real backoffs).

    The backfill lane is not paced unless ``drain_min_points_per_s`` says otherwise: the crash tests
    replay a backlog the broker holds, whose arrival rate says nothing of a plant's; the outage test
    passes the default pace, its subject."""
    config = {
        "cloud": {"target": target, "tls": False},
        "buffer": {"path": str(directory / "buffer.db"), "max_mb": 500},
        "forward": {
            "batch_points": batch_points,
            "retry_initial_s": 0.02,
            "retry_max_s": 0.5,
            "ack_timeout_s": 5,
            "drain_min_points_per_s": 10**7,
            **forward,
        },
        "sources": [
            {
                "kind": "mqtt",
                "name": "plant",
                "host": "127.0.0.1",
                "port": broker_port,
                "client_id": client_id,
            }
        ],
    }
    path = directory / "edge.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


class AgentProcess:
    """`sf edge run` with its output in ``log_path``; kill() is a kill -9."""

    def __init__(self, config: Path, credential: str) -> None:
        self._config = config
        self._env = child_environment({"SF_EDGE_CREDENTIAL": credential})
        self.log_path = config.with_suffix(".log")
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log_path.open("ab") as log:
            self._process = await asyncio.create_subprocess_exec(
                SF,
                "edge",
                "run",
                "--config",
                str(self._config),
                env=self._env,
                cwd=REPO,
                stdout=log,
                stderr=log,
            )

    async def kill(self) -> None:
        self._process.send_signal(signal.SIGKILL)
        await self._process.wait()

    async def stop(self) -> int:
        if self._process.returncode is None:
            self._process.send_signal(signal.SIGTERM)
        return await self._process.wait()

    def summary(self) -> str:
        """The last line the agent printed on its way out (what it acknowledged, and on which lane)."""
        lines = [
            line
            for line in self.log_path.read_text(errors="replace").splitlines()
            if line.startswith("sf edge:")
        ]
        return lines[-1] if lines else ""

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]
