"""`sf storage maintain`: the owner-side upkeep of `telemetry.blocks` on every cell, run daily (a
Kubernetes CronJob in production, beside `sf tenants purge`).

- Partitions are prepared a week back and four weeks ahead (`partitions.ensure_ahead`), so writes near
  "now" never land in DEFAULT.
- Whole weekly partitions that end before ``now - longest retention_days of any plan`` are dropped
  (`partitions.drop_before`): every tenant allows that, whatever its plan. Shorter retentions are the
  worker's row deletes (`services/worker/retention.py`).

It needs the owner/admin URL (`SF_DATABASE_URL`, as `sf migrate`): the worker's role owns nothing and
gets no DDL rights; only this command, run by the operator, drops tables.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from services.ingest import partitions
from services.tenancy.catalog import DEFAULT_CATALOG_DIR, load_plans

DAY_NS = 86400 * 10**9


@dataclass(frozen=True)
class Maintained:
    cell: str
    created: int
    dropped: list[str]


def longest_retention_days(catalog_dir: Path = DEFAULT_CATALOG_DIR) -> int:
    return max(plan.quotas["retention_days"] for plan in load_plans(catalog_dir).values())


def maintain(admin_urls: dict[str, str], retention_days: int, now_ns: int | None = None) -> list[Maintained]:
    """Each cell ({name: owner/admin URL}): partitions ahead, whole weeks past ``retention_days`` dropped."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    done = []
    for cell, url in admin_urls.items():
        with psycopg.connect(url, autocommit=True) as conn:
            created = partitions.ensure_ahead(conn, now_ns=now_ns)
            dropped = partitions.drop_before(conn, now_ns - retention_days * DAY_NS)
        done.append(Maintained(cell, created, dropped))
    return done
