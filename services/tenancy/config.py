"""Tenancy's settings: the shared service settings plus the catalog to load."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.runtime.config import Env
from services.runtime.settings import ServiceSettings
from services.tenancy.catalog import DEFAULT_CATALOG_DIR

PORT = 50053


@dataclass(frozen=True)
class TenancySettings:
    service: ServiceSettings
    catalog_dir: Path = DEFAULT_CATALOG_DIR
    load_demo: bool = False

    @classmethod
    def from_env(cls, env: Env | None = None) -> TenancySettings:
        env = env or Env()
        return cls(
            service=ServiceSettings.from_env("tenancy", PORT, env),
            catalog_dir=Path(env.str("SF_CATALOG_DIR", str(DEFAULT_CATALOG_DIR))),
            load_demo=env.bool("SF_LOAD_DEMO", False),
        )
