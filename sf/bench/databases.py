"""Throwaway embedded PostgreSQL and Redis for one benchmark group, migrated and ready."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sf.embedded import EmbeddedPostgres, EmbeddedRedis
from sf.migrate import migrate


@contextmanager
def fresh_databases() -> Iterator[tuple[str, str]]:
    """(admin PostgreSQL URL, Redis URL), removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="sf-bench-") as folder:
        postgres, redis = EmbeddedPostgres(Path(folder) / "pg"), EmbeddedRedis(Path(folder) / "redis")
        try:
            admin_url = postgres.start()
            migrate(admin_url)
            yield admin_url, redis.start()
        finally:
            redis.stop()
            postgres.stop()
