"""Ordered SQL migrations per service schema, applied once, recorded, checksummed.

Each service keeps `NNNN_name.sql` files in its `migrations/` folder. They run
as the owner role `sf_owner` (never as a service's application role), each in
its own transaction, under an advisory lock so concurrent starts are safe. A
file changed after it was applied stops the run: migrations are append-only.

Roles: `sf_owner` owns every object; each service connects as its own login
role (`sf_tenancy`, `sf_ingest`, `sf_analytics`, `sf_worker`) that owns nothing, is no
superuser and cannot bypass row-level security.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

OWNER_ROLE = "sf_owner"
APP_ROLES = ("sf_tenancy", "sf_ingest", "sf_analytics", "sf_worker")
_LOCK_ID = 0x5F_C10D
_FILE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    schema: str
    version: int
    path: Path

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


class MigrationError(Exception):
    """The migration history and the files disagree."""


def discover(schema: str, folder: Path) -> list[Migration]:
    found = sorted(p for p in folder.glob("*.sql"))
    bad = [p.name for p in found if not _FILE.match(p.name)]
    if bad:
        raise MigrationError(f"migration files must be named NNNN_name.sql: {bad}")
    return [Migration(schema, int(p.name[:4]), p) for p in found]


def ensure_roles(conn: psycopg.Connection, app_password: str | None) -> None:
    """Create the owner and application roles if missing (needs CREATEROLE)."""
    existing = {r for (r,) in conn.execute("SELECT rolname FROM pg_roles")}
    if OWNER_ROLE not in existing:
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(OWNER_ROLE)))
    conn.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(sql.Identifier(OWNER_ROLE)))
    database = conn.execute("SELECT current_database()").fetchone()[0]
    conn.execute(
        sql.SQL("GRANT CREATE, CONNECT ON DATABASE {} TO {}").format(
            sql.Identifier(database), sql.Identifier(OWNER_ROLE)
        )
    )
    for role in APP_ROLES:
        if role not in existing:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE").format(
                    sql.Identifier(role)
                )
            )
        if app_password:
            conn.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(role), sql.Literal(app_password))
            )


def apply(admin_url: str, migrations: list[Migration], app_password: str | None = None) -> list[str]:
    """Apply what is pending; returns the names of the files applied now."""
    applied_now: list[str] = []
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", [_LOCK_ID])
        try:
            ensure_roles(conn, app_password)
            conn.execute(
                "CREATE TABLE IF NOT EXISTS public.sf_migrations ("
                " schema_name text NOT NULL, version int NOT NULL, name text NOT NULL,"
                " checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(),"
                " PRIMARY KEY (schema_name, version))"
            )
            for migration in migrations:
                if _apply_one(conn, migration):
                    applied_now.append(f"{migration.schema}/{migration.path.name}")
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", [_LOCK_ID])
    return applied_now


def _apply_one(conn: psycopg.Connection, migration: Migration) -> bool:
    row = conn.execute(
        "SELECT checksum FROM public.sf_migrations WHERE schema_name = %s AND version = %s",
        [migration.schema, migration.version],
    ).fetchone()
    if row is not None:
        if row[0] != migration.checksum:
            raise MigrationError(f"{migration.path} changed after it was applied; add a new migration")
        return False
    with conn.transaction():
        conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(OWNER_ROLE)))
        conn.execute(migration.path.read_text())
        conn.execute("RESET ROLE")
        conn.execute(
            "INSERT INTO public.sf_migrations (schema_name, version, name, checksum) VALUES (%s, %s, %s, %s)",
            [migration.schema, migration.version, migration.path.name, migration.checksum],
        )
    return True
