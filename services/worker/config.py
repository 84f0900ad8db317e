"""The worker's settings: the shared service settings (role `sf_worker`), Redis, the compaction knobs and
the export directory.

| variable | default | meaning |
| --- | --- | --- |
| `SF_REDIS_URL` | (required) | the compaction queue (`services/runtime/compaction.py`) |
| `SF_WORKER_CONSUMER` | host-pid | this process's name in the consumer group `compactors` |
| `SF_WORKER_TARGET_POINTS` | 4096 | points per compacted block (an hour's blocks become ceil(n / target) blocks) |
| `SF_WORKER_CLAIM_IDLE_S` | 60 | a job pending this long (its worker died or is stuck) is taken over |
| `SF_TENANCY_TARGET` | 127.0.0.1:50053 | the tenancy service (the tenants and their plans, for retention) |
| `SF_RETENTION_INTERVAL_S` | 3600 | seconds between retention passes (one worker at a time); 0: no retention |
| `SF_ANALYTICS_TARGET` | 127.0.0.1:50052 | the analytics service (the daily level assessments) |
| `SF_LEVEL_INTERVAL_S` | 86400 | seconds between passes assessing every tenant's level (one worker at a time); 0: none |
| `SF_ANOMALY_INTERVAL_S` | 60 | seconds between anomaly-scoring passes over every fitted machine; 0: none here |
| `SF_CATALOG_DIR` | `tenants/` | the tenant catalog: each plan's `retention_days` (`plans.yaml`) |
| `SF_EXPORT_DIR` | `.sfcloud/exports` | where export packages are written and read from (shared by every worker) |
| `SF_WORKER_COMPACTION` | true | whether this worker takes compaction jobs (exports it always takes) |
| `SF_EXPORT_SWEEP_S` | 60 | seconds between sweeps putting back lost export entries (one worker at a time); 0: none |
| `SF_COMPACTION_SWEEP_S` | 600 | seconds between sweeps scheduling the uncompacted hours Redis forgot; 0: none |
| `SF_COMPACTION_SWEEP_AFTER_S` | 7200 | the sweep looks at hours that ended at least this long ago (the queue does the rest) |
| `SF_COMPACTION_SWEEP_HOURS` | 48 | … and at most this many hours before that |
| `SF_ALARM_INTERVAL_S` | 10 | seconds between evaluations of every tenant's rules (no-data too); 0: none here |
| `SF_ALARM_ABANDONED_S` | 300 | a notification pending this long lost its worker: the next periodic pass sends it |
| `SF_ALARM_RETRY_BASE_S` / `SF_ALARM_ATTEMPTS` | 1 / 6 | a failed notification is retried after 1, 2, 4, … s; 6 tries at most |
| `SF_ALARM_PRIVATE_WEBHOOKS` | false | allow webhooks to loopback and private addresses (a local stack; `sf up` sets it) |
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

from services.runtime.config import Env
from services.runtime.settings import ServiceSettings
from services.tenancy.catalog import DEFAULT_CATALOG_DIR

PORT = 50054
DEFAULT_EXPORT_DIR = Path(__file__).resolve().parents[2] / ".sfcloud" / "exports"


@dataclass(frozen=True)
class WorkerSettings:
    service: ServiceSettings
    redis_url: str
    consumer: str
    target_points: int = 4096
    claim_idle_s: float = 60.0
    poll_s: float = 1.0  # longest wait on an empty stream before the due hours are looked at again
    tenancy_target: str = "127.0.0.1:50053"
    analytics_target: str = "127.0.0.1:50052"
    retention_interval_s: int = 3600  # 0: this worker never runs retention
    catalog_dir: Path = DEFAULT_CATALOG_DIR
    alarm_interval_s: float = 10.0  # 0: this worker evaluates no alarm rules
    alarm_tick_s: float = 0.25  # tenants with new data are evaluated this often
    alarm_retry_base_s: float = 1.0
    alarm_attempts: int = 6
    alarm_abandoned_s: int = 300  # longer than a delivery's whole retry schedule
    anomaly_interval_s: float = 60.0  # 0: this worker scores no anomaly models
    level_interval_s: int = 86_400  # 0: this worker assesses no levels
    alarm_private_webhooks: bool = (
        False  # webhooks into private networks (services/worker/webhook_targets.py)
    )
    export_dir: Path = DEFAULT_EXPORT_DIR
    compaction: bool = True
    export_sweep_s: float = 60.0  # 0: this worker puts back no lost export entries
    compaction_sweep_s: float = 600.0  # 0: this worker schedules no forgotten hours
    compaction_sweep_after_s: int = 7200
    compaction_sweep_hours: int = 48

    @classmethod
    def from_env(cls, env: Env | None = None) -> WorkerSettings:
        env = env or Env()
        service = ServiceSettings.from_env("worker", PORT, env)
        return cls(
            service=service,
            redis_url=env.url("SF_REDIS_URL", ("redis", "rediss", "unix")),
            consumer=env.str("SF_WORKER_CONSUMER", f"{socket.gethostname()}-{os.getpid()}"),
            target_points=env.int("SF_WORKER_TARGET_POINTS", 4096, minimum=16, maximum=1 << 20),
            claim_idle_s=env.int("SF_WORKER_CLAIM_IDLE_S", 60, minimum=1, maximum=86_400),
            tenancy_target=env.str("SF_TENANCY_TARGET", "127.0.0.1:50053"),
            analytics_target=env.str("SF_ANALYTICS_TARGET", "127.0.0.1:50052"),
            retention_interval_s=env.int("SF_RETENTION_INTERVAL_S", 3600, minimum=0, maximum=7 * 86_400),
            catalog_dir=Path(env.str("SF_CATALOG_DIR", str(DEFAULT_CATALOG_DIR))),
            alarm_interval_s=env.int("SF_ALARM_INTERVAL_S", 10, minimum=0, maximum=3600),
            alarm_retry_base_s=env.int("SF_ALARM_RETRY_BASE_S", 1, minimum=1, maximum=600),
            alarm_attempts=env.int("SF_ALARM_ATTEMPTS", 6, minimum=1, maximum=20),
            alarm_abandoned_s=env.int("SF_ALARM_ABANDONED_S", 300, minimum=1, maximum=86_400),
            anomaly_interval_s=env.int("SF_ANOMALY_INTERVAL_S", 60, minimum=0, maximum=3600),
            level_interval_s=env.int("SF_LEVEL_INTERVAL_S", 86_400, minimum=0, maximum=7 * 86_400),
            alarm_private_webhooks=env.bool("SF_ALARM_PRIVATE_WEBHOOKS", False),
            export_dir=Path(env.str("SF_EXPORT_DIR", str(DEFAULT_EXPORT_DIR))),
            compaction=env.bool("SF_WORKER_COMPACTION", True),
            export_sweep_s=env.int("SF_EXPORT_SWEEP_S", 60, minimum=0, maximum=86_400),
            compaction_sweep_s=env.int("SF_COMPACTION_SWEEP_S", 600, minimum=0, maximum=86_400),
            compaction_sweep_after_s=env.int(
                "SF_COMPACTION_SWEEP_AFTER_S", 7200, minimum=0, maximum=7 * 86_400
            ),
            compaction_sweep_hours=env.int("SF_COMPACTION_SWEEP_HOURS", 48, minimum=1, maximum=24 * 31),
        )
