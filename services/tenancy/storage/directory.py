"""The supplier directory: profiles (public to read, each written by its own supplier), the track record
computed from tenants, levels and tickets, and the levels analytics records."""

from __future__ import annotations

import json
import uuid
from datetime import date

from psycopg import AsyncConnection

from services.tenancy.models import INGEST_STATES
from services.tenancy.support_models import (
    ClientReference,
    KeyStaff,
    Listing,
    Profile,
    SearchFilter,
    TrackRecord,
)

_LISTING = (
    "SELECT s.id, s.name, s.description, s.website, s.contact_email, p.summary, p.specialties, p.industries,"
    " p.regions, p.certifications, p.key_staff, p.client_references, p.updated_at"
    " FROM tenancy.suppliers s LEFT JOIN tenancy.supplier_profiles p ON p.supplier_id = s.id"
)


def _listing(row: tuple) -> Listing:
    (
        sid,
        name,
        description,
        website,
        email,
        summary,
        specialties,
        industries,
        regions,
        certs,
        staff,
        refs,
        at,
    ) = row
    profile = Profile(
        summary or "",
        tuple(specialties or ()),
        tuple(industries or ()),
        tuple(regions or ()),
        tuple(certs or ()),
        tuple(KeyStaff(**s) for s in staff or ()),
        tuple(ClientReference(**r) for r in refs or ()),
        at,
    )
    return Listing(sid, name, description, website, email, profile)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def search(
    conn: AsyncConnection, wanted: SearchFilter, after: tuple[str, str] | None, limit: int
) -> list[Listing]:
    """Suppliers matching every filter given, by (name, id), after ``after``."""
    after_name, after_id = after or ("", "00000000-0000-0000-0000-000000000000")
    cur = await conn.execute(
        f"{_LISTING} WHERE (%(specialty)s = '' OR %(specialty)s = ANY(p.specialties))"
        " AND (%(industry)s = '' OR %(industry)s = ANY(p.industries))"
        " AND (%(region)s = '' OR %(region)s = ANY(p.regions))"
        " AND (%(text)s = '' OR concat_ws(' ', s.name, s.description, p.summary,"
        "      array_to_string(p.specialties || p.industries || p.regions || p.certifications, ' '))"
        "      ILIKE %(like)s)"
        " AND (s.name, s.id) > (%(name)s, %(id)s::uuid) ORDER BY s.name, s.id LIMIT %(limit)s",
        {
            "specialty": wanted.specialty,
            "industry": wanted.industry,
            "region": wanted.region,
            "text": wanted.text,
            "like": _like(wanted.text),
            "name": after_name,
            "id": after_id,
            "limit": limit,
        },
    )
    return [_listing(row) for row in await cur.fetchall()]


async def get_listing(conn: AsyncConnection, supplier_id: uuid.UUID) -> Listing | None:
    cur = await conn.execute(f"{_LISTING} WHERE s.id = %s", [supplier_id])
    row = await cur.fetchone()
    return _listing(row) if row else None


async def put_profile(conn: AsyncConnection, supplier_id: uuid.UUID, profile: Profile, actor: str) -> None:
    """Write the supplier's profile (row-level security: only with app.supplier_id set to it)."""
    await conn.execute(
        "INSERT INTO tenancy.supplier_profiles (supplier_id, summary, specialties, industries, regions,"
        " certifications, key_staff, client_references, updated_at, updated_by)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, now(), %s)"
        " ON CONFLICT (supplier_id) DO UPDATE SET summary = excluded.summary,"
        " specialties = excluded.specialties, industries = excluded.industries, regions = excluded.regions,"
        " certifications = excluded.certifications, key_staff = excluded.key_staff,"
        " client_references = excluded.client_references, updated_at = now(), updated_by = excluded.updated_by",
        [
            supplier_id,
            profile.summary,
            list(profile.specialties),
            list(profile.industries),
            list(profile.regions),
            list(profile.certifications),
            json.dumps([{"role": s.role, "count": s.count} for s in profile.key_staff]),
            json.dumps(
                [{"client": r.client, "project": r.project, "year": r.year} for r in profile.references]
            ),
            actor,
        ],
    )


async def track_record(conn: AsyncConnection, supplier_id: uuid.UUID) -> TrackRecord:
    """The supplier's record, in a transaction with app.supplier_id set to it: row-level security shows
    exactly what its own staff see (its tenants, their levels, their tickets addressed to it)."""
    cur = await conn.execute(
        "WITH active AS (SELECT t.id FROM tenancy.tenants t JOIN tenancy.subscriptions s ON s.tenant_id = t.id"
        "   WHERE t.supplier_id = %(supplier)s AND s.state = ANY(%(states)s)),"
        " gains AS (SELECT (array_agg(l.level ORDER BY l.day DESC))[1] - (array_agg(l.level ORDER BY l.day))[1]"
        "   AS gain FROM tenancy.tenant_levels l WHERE l.tenant_id IN (SELECT id FROM active) GROUP BY l.tenant_id),"
        " answered AS (SELECT extract(epoch FROM k.first_response_at - k.created_at) AS seconds"
        "   FROM tenancy.tickets k WHERE k.supplier_id = %(supplier)s AND k.first_response_at IS NOT NULL)"
        " SELECT (SELECT count(*) FROM active), (SELECT count(*) FROM gains),"
        " (SELECT coalesce(avg(gain), 0) FROM gains), (SELECT count(*) FROM answered),"
        " (SELECT coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds), 0) FROM answered)",
        {"supplier": supplier_id, "states": list(INGEST_STATES)},
    )
    active, assessed, gain, answered, median = await cur.fetchone()
    return TrackRecord(active, assessed, float(gain), answered, float(median))


async def put_level(conn: AsyncConnection, tenant_id: uuid.UUID, day: date, level: int) -> None:
    await conn.execute(
        "INSERT INTO tenancy.tenant_levels (tenant_id, day, level) VALUES (%s, %s, %s)"
        " ON CONFLICT (tenant_id, day) DO UPDATE SET level = excluded.level",
        [tenant_id, day, level],
    )
