"""The worker's settings: the shared service settings (role `sf_worker`), Redis, and the compaction knobs.

| variable | default | meaning |
| --- | --- | --- |
| `SF_REDIS_URL` | (required) | the compaction queue (`services/runtime/compaction.py`) |
| `SF_WORKER_CONSUMER` | host-pid | this process's name in the consumer group `compactors` |
| `SF_WORKER_TARGET_POINTS` | 4096 | points per compacted block (an hour's blocks become ceil(n / target) blocks) |
| `SF_WORKER_CLAIM_IDLE_S` | 60 | a job pending this long (its worker died or is stuck) is taken over |
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, replace

from services.runtime.config import Env
from services.runtime.settings import ServiceSettings

PORT = 50054


@dataclass(frozen=True)
class WorkerSettings:
    service: ServiceSettings
    redis_url: str
    consumer: str
    target_points: int = 4096
    claim_idle_s: float = 60.0
    poll_s: float = 1.0  # longest wait on an empty stream before the due hours are looked at again

    @classmethod
    def from_env(cls, env: Env | None = None) -> WorkerSettings:
        env = env or Env()
        service = ServiceSettings.from_env("worker", PORT, env)
        return cls(
            service=replace(service, reflection=False),  # health only: nothing to reflect
            redis_url=env.url("SF_REDIS_URL", ("redis", "rediss", "unix")),
            consumer=env.str("SF_WORKER_CONSUMER", f"{socket.gethostname()}-{os.getpid()}"),
            target_points=env.int("SF_WORKER_TARGET_POINTS", 4096, minimum=16, maximum=1 << 20),
            claim_idle_s=env.int("SF_WORKER_CLAIM_IDLE_S", 60, minimum=1, maximum=86_400),
        )
