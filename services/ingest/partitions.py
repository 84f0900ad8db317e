"""The weekly partitions of `telemetry.blocks`: prepared ahead of time, listed for retention.

`telemetry.ensure_partitions` (migration 0007) does the work in SQL; this module calls it for a horizon
around now and reads the partitions back with their ranges. Both run as the owner role `sf_owner` (the
caller's connection must be that role or one that may `SET ROLE` to it, as `sf migrate`'s is): the
application roles own nothing and cannot create tables. `sf migrate` prepares a week back and four weeks
ahead on every run; `sf storage maintain` (run daily) calls `ensure_ahead` so that writes near "now" never land in
the DEFAULT partition, and `drop_before` to drop whole weeks older than the longest retention of any plan
(docs/STORAGE.md, "Retention"). Where TimescaleDB is installed the table would be a hypertable instead: not built, see
docs/STORAGE.md.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
from psycopg import sql

from services.runtime.migrations import OWNER_ROLE

WEEK_NS = 7 * 86400 * 10**9
_MONDAY_NS = 4 * 86400 * 10**9  # 1970-01-01 was a Thursday; weeks start on Monday 00:00 UTC
BEHIND_NS = WEEK_NS
AHEAD_NS = 4 * WEEK_NS
_BOUNDS = re.compile(r"FOR VALUES FROM \('?(-?\d+)'?\) TO \('?(-?\d+)'?\)")


@dataclass(frozen=True)
class Partition:
    """One partition of the blocks table; `start_ns`/`end_ns` (end exclusive) are None for DEFAULT."""

    name: str
    start_ns: int | None
    end_ns: int | None

    @property
    def is_default(self) -> bool:
        return self.start_ns is None


def week_start_ns(ns: int) -> int:
    """The first nanosecond of the partition week that holds `ns` (as the SQL function computes it)."""
    return _MONDAY_NS + (ns - _MONDAY_NS) // WEEK_NS * WEEK_NS


def partition_name(ns: int) -> str:
    """The qualified name of the weekly partition that holds `ns`, e.g. telemetry.blocks_p20261123."""
    monday = datetime.fromtimestamp(week_start_ns(ns) // 10**9, UTC)
    return f"telemetry.blocks_p{monday:%Y%m%d}"


def ensure_ahead(
    conn: psycopg.Connection, behind_ns: int = BEHIND_NS, ahead_ns: int = AHEAD_NS, now_ns: int | None = None
) -> int:
    """Create the missing weekly partitions in [now - behind, now + ahead] (and DEFAULT); how many were made."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    return ensure(conn, now_ns - behind_ns, now_ns + ahead_ns)


def ensure(conn: psycopg.Connection, from_ns: int, to_ns: int) -> int:
    """Create the missing weekly partitions covering [from_ns, to_ns], in one transaction as the owner."""
    with conn.transaction():
        conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(OWNER_ROLE)))
        return conn.execute("SELECT telemetry.ensure_partitions(%s, %s)", [from_ns, to_ns]).fetchone()[0]


def drop_before(conn: psycopg.Connection, cutoff_ns: int) -> list[str]:
    """Drop the weekly partitions that end at or before ``cutoff_ns`` (never DEFAULT), as the owner; their
    names. The caller picks a cutoff every tenant allows (``sf storage maintain``: the longest retention)."""
    with conn.transaction():
        conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(OWNER_ROLE)))
        rows = conn.execute("SELECT telemetry.drop_partitions_before(%s)", [cutoff_ns]).fetchall()
    return [name for (name,) in rows]


def list_partitions(conn: psycopg.Connection) -> list[Partition]:
    """Every partition with its range, oldest first, DEFAULT last."""
    rows = conn.execute(
        "SELECT c.oid::regclass::text, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i"
        " JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'telemetry.blocks'::regclass"
    ).fetchall()
    found = [partition_of(name, bound) for name, bound in rows]
    return sorted(found, key=lambda p: (p.is_default, p.start_ns or 0))


def partition_of(name: str, bound: str) -> Partition:
    """A partition from its name and ``pg_get_expr(relpartbound)``."""
    if bound == "DEFAULT":
        return Partition(name, None, None)
    match = _BOUNDS.fullmatch(bound)
    if match is None:
        raise ValueError(f"{name}: unexpected partition bound {bound!r}")
    return Partition(name, int(match[1]), int(match[2]))
