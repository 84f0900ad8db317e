"""Analytics' settings: the shared service settings (it needs nothing more yet)."""

from __future__ import annotations

from dataclasses import dataclass

from services.runtime.config import Env
from services.runtime.settings import ServiceSettings

PORT = 50052


@dataclass(frozen=True)
class AnalyticsSettings:
    service: ServiceSettings

    @classmethod
    def from_env(cls, env: Env | None = None) -> AnalyticsSettings:
        return cls(service=ServiceSettings.from_env("analytics", PORT, env or Env()))
