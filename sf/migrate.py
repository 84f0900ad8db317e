"""The migration sets of every service, in the order they must apply."""

from __future__ import annotations

from pathlib import Path

import psycopg

from services.ingest import partitions
from services.runtime import migrations

_SERVICES = Path(__file__).resolve().parents[1] / "services"
# (schema, folder): tenancy first; telemetry's policies do not depend on it.
SETS = (("tenancy", _SERVICES / "tenancy" / "migrations"), ("telemetry", _SERVICES / "ingest" / "migrations"))


def all_migrations() -> list[migrations.Migration]:
    return [m for schema, folder in SETS for m in migrations.discover(schema, folder)]


# Schemas every extra database cell holds (the control plane stays on the default cell).
CELL_SCHEMAS = ("telemetry",)


def migrate(
    admin_url: str, app_password: str | None = None, cells: dict[str, str] | None = None
) -> list[str]:
    """Everything on the default cell; the telemetry schema on each extra cell ({name: admin URL}).
    Every run also prepares the telemetry partitions of each cell a week back and four weeks ahead."""
    applied = migrations.apply(admin_url, all_migrations(), app_password)
    _prepare_partitions(admin_url)
    for cell, url in (cells or {}).items():
        cell_sets = [m for m in all_migrations() if m.schema in CELL_SCHEMAS]
        applied += [f"{cell}:{name}" for name in migrations.apply(url, cell_sets, app_password)]
        _prepare_partitions(url)
    return applied


def _prepare_partitions(admin_url: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        partitions.ensure_ahead(conn)
