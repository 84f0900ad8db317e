"""Analytics' settings: the shared service settings and where tenancy is (to check series exist).

| variable | default | meaning |
| --- | --- | --- |
| `SF_TENANCY_TARGET` | 127.0.0.1:50053 | the tenancy service, asked which series a tenant has |
"""

from __future__ import annotations

from dataclasses import dataclass

from services.runtime.config import Env
from services.runtime.settings import ServiceSettings

PORT = 50052


@dataclass(frozen=True)
class AnalyticsSettings:
    service: ServiceSettings
    tenancy_target: str = "127.0.0.1:50053"

    @classmethod
    def from_env(cls, env: Env | None = None) -> AnalyticsSettings:
        env = env or Env()
        return cls(
            service=ServiceSettings.from_env("analytics", PORT, env),
            tenancy_target=env.str("SF_TENANCY_TARGET", "127.0.0.1:50053"),
        )
