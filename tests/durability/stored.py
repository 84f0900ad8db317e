"""What a tenant has stored, read past row-level security with the admin URL, for durability checks."""

from __future__ import annotations

import psycopg

import tscodec


def stored_count(admin_url: str, tenant_id) -> int | None:
    """Points stored for the tenant, or None while PostgreSQL is down."""
    try:
        with psycopg.connect(admin_url, connect_timeout=2) as conn:
            row = conn.execute(
                "SELECT coalesce(sum(count), 0) FROM telemetry.blocks WHERE tenant_id = %s", [tenant_id]
            )
            return row.fetchone()[0]
    except psycopg.OperationalError:
        return None


def stored_pairs(admin_url: str, tenant_id) -> tuple[int, set[tuple[str, int]], dict[tuple[str, int], float]]:
    """Every stored point decoded: the total, the distinct (series, ts) pairs and their values."""
    total, values = 0, {}
    with psycopg.connect(admin_url) as conn:
        rows = conn.execute(
            "SELECT series_id::text, payload_chunks || payload_rest FROM telemetry.blocks WHERE tenant_id = %s",
            [tenant_id],
        )
        for series_id, payload in rows:
            timestamps, samples = tscodec.decode(payload)
            total += timestamps.size
            values.update(zip(((series_id, int(t)) for t in timestamps), samples.tolist(), strict=True))
    return total, set(values), values
