"""Analytics' settings: the shared service settings, where tenancy is (to check series exist and ask tenants'
plans) and the catalog (each plan's raw window).

| variable | default | meaning |
| --- | --- | --- |
| `SF_TENANCY_TARGET` | 127.0.0.1:50053 | the tenancy service, asked which series a tenant has and its plan |
| `SF_CATALOG_DIR` | `tenants/` | the tenant catalog: each plan's `raw_window_days` (`plans.yaml`) |
| `SF_ANALYTICS_STATEMENT_TIMEOUT_MS` | 5000 | longest a statement of a tenant transaction runs before it is cancelled (0: none) |
| `SF_ANALYTICS_TENANT_READS` | 2 | transactions one tenant runs at once in one analytics process |
| `SF_ANALYTICS_TENANT_WAIT_MS` | 5000 | longest wait for a turn before `TENANT_READS_BUSY` |
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.runtime.config import Env
from services.runtime.settings import ServiceSettings
from services.tenancy.catalog import DEFAULT_CATALOG_DIR

PORT = 50052


@dataclass(frozen=True)
class AnalyticsSettings:
    service: ServiceSettings
    tenancy_target: str = "127.0.0.1:50053"
    statement_timeout_ms: int = 5000
    tenant_reads: int = 2
    tenant_wait_s: float = 5.0
    catalog_dir: Path = DEFAULT_CATALOG_DIR

    @classmethod
    def from_env(cls, env: Env | None = None) -> AnalyticsSettings:
        env = env or Env()
        return cls(
            service=ServiceSettings.from_env("analytics", PORT, env),
            tenancy_target=env.str("SF_TENANCY_TARGET", "127.0.0.1:50053"),
            statement_timeout_ms=env.int(
                "SF_ANALYTICS_STATEMENT_TIMEOUT_MS", 5000, minimum=0, maximum=600_000
            ),
            tenant_reads=env.int("SF_ANALYTICS_TENANT_READS", 2, minimum=1, maximum=64),
            tenant_wait_s=env.int("SF_ANALYTICS_TENANT_WAIT_MS", 5000, minimum=0, maximum=60_000) / 1000,
            catalog_dir=Path(env.str("SF_CATALOG_DIR", str(DEFAULT_CATALOG_DIR))),
        )
