"""Ingest's settings: the shared service settings, where tenancy and Redis are, and the overload limits.

| variable | default | meaning |
| --- | --- | --- |
| `SF_TENANCY_TARGET` | 127.0.0.1:50053 | the tenancy service |
| `SF_REDIS_URL` | (required) | rate limits and live fan-out |
| `SF_USAGE_REPORT_S` | 10 | how often usage is reported to tenancy |
| `SF_INGEST_MAX_INFLIGHT_MB` | 64 | batch bytes the process decodes and writes at once (`admission.py`) |
| `SF_INGEST_ADMISSION_WAIT_MS` | 50 | how long a batch waits for room before it is refused with `SERVER_BUSY` |
| `SF_INGEST_STREAMS_PER_TENANT` | 1000 | Ingest streams one tenant may hold open at once in this process (`tenant_streams.py`) |
| `SF_INGEST_STREAM_IDLE_S` | 30 | a stream that sends nothing this long is closed with UNAVAILABLE `STREAM_IDLE` |
| `SF_INGEST_REDIS_TIMEOUT_MS` | 500 | longest a Redis command waits (then quotas let a batch through, live values are dropped) |
| `SF_COMPACTION_GRACE_S` | 600 | how long after an hour ends its blocks are announced to the worker for compaction |
"""

from __future__ import annotations

from dataclasses import dataclass

from services.runtime.compaction import DEFAULT_GRACE_S
from services.runtime.config import Env
from services.runtime.settings import ServiceSettings

PORT = 50051
MB = 1024 * 1024


@dataclass(frozen=True)
class IngestSettings:
    service: ServiceSettings
    tenancy_target: str
    redis_url: str
    usage_interval_s: float = 10.0
    max_inflight_bytes: int = (
        64 * MB
    )  # about what the 8 database connections drain in well under the pool's 5 s
    admission_wait_s: float = 0.05  # well inside the 100 ms in which RELIABILITY D5 wants excess refused
    # Redis answers in well under a millisecond; without a bound a dead link held every batch until the
    # device's deadline, though a batch needs Redis for nothing it cannot do without (RELIABILITY D7).
    redis_timeout_s: float = 0.5
    compaction_grace_s: int = DEFAULT_GRACE_S
    streams_per_tenant: int = 1000  # the largest plan's edge agents and directly connected devices, with room
    stream_idle_s: float = 30.0

    @classmethod
    def from_env(cls, env: Env | None = None) -> IngestSettings:
        env = env or Env()
        return cls(
            service=ServiceSettings.from_env("ingest", PORT, env),
            tenancy_target=env.str("SF_TENANCY_TARGET", "127.0.0.1:50053"),
            redis_url=env.url("SF_REDIS_URL", ("redis", "rediss", "unix")),
            usage_interval_s=env.int("SF_USAGE_REPORT_S", 10, minimum=1, maximum=3600),
            max_inflight_bytes=env.int("SF_INGEST_MAX_INFLIGHT_MB", 64, minimum=1, maximum=1 << 20) * MB,
            admission_wait_s=env.int("SF_INGEST_ADMISSION_WAIT_MS", 50, minimum=0, maximum=1000) / 1000,
            redis_timeout_s=env.int("SF_INGEST_REDIS_TIMEOUT_MS", 500, minimum=10, maximum=60_000) / 1000,
            compaction_grace_s=env.int("SF_COMPACTION_GRACE_S", DEFAULT_GRACE_S, minimum=0, maximum=86_400),
            streams_per_tenant=env.int("SF_INGEST_STREAMS_PER_TENANT", 1000, minimum=1, maximum=1_000_000),
            stream_idle_s=env.int("SF_INGEST_STREAM_IDLE_S", 30, minimum=1, maximum=3600),
        )
