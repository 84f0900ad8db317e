"""Ingest's settings: the shared service settings plus where tenancy and Redis are."""

from __future__ import annotations

from dataclasses import dataclass

from services.runtime.config import Env
from services.runtime.settings import ServiceSettings

PORT = 50051


@dataclass(frozen=True)
class IngestSettings:
    service: ServiceSettings
    tenancy_target: str
    redis_url: str
    usage_interval_s: float = 10.0

    @classmethod
    def from_env(cls, env: Env | None = None) -> IngestSettings:
        env = env or Env()
        return cls(
            service=ServiceSettings.from_env("ingest", PORT, env),
            tenancy_target=env.str("SF_TENANCY_TARGET", "127.0.0.1:50053"),
            redis_url=env.url("SF_REDIS_URL", ("redis", "rediss", "unix")),
            usage_interval_s=env.int("SF_USAGE_REPORT_S", 10, minimum=1, maximum=3600),
        )
