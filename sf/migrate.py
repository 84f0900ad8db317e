"""The migration sets of every service, in the order they must apply."""

from __future__ import annotations

from pathlib import Path

from services.runtime import migrations

_SERVICES = Path(__file__).resolve().parents[1] / "services"
# (schema, folder): tenancy first; telemetry's policies do not depend on it.
SETS = (("tenancy", _SERVICES / "tenancy" / "migrations"), ("telemetry", _SERVICES / "ingest" / "migrations"))


def all_migrations() -> list[migrations.Migration]:
    return [m for schema, folder in SETS for m in migrations.discover(schema, folder)]


def migrate(admin_url: str, app_password: str | None = None) -> list[str]:
    return migrations.apply(admin_url, all_migrations(), app_password)
