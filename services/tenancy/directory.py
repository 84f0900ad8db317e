"""The supplier directory: profiles a supplier's admins write, and a track record the platform computes.

The track record is never taken from a request: active tenants come from subscriptions, the level gain
from the daily levels analytics records (`record_level`, the analytics service only), the response time
from tickets. Each supplier's figures are read in a transaction scoped to that supplier, so they cover
exactly what its own staff may see. Anyone signed in (a person or an API key) may search.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from services.runtime.errors import InvalidArgument, NotFound, PermissionDenied
from services.runtime.principal import Kind, Principal
from services.runtime.transactions import Transactions
from services.runtime.validation import limit_text, parse_day, parse_id, require_name
from services.tenancy import audit
from services.tenancy.organisations import decode_cursor, encode_cursor, is_supplier_admin
from services.tenancy.storage import directory as storage
from services.tenancy.support_models import ClientReference, KeyStaff, Listing, Profile, SearchFilter

MAX_PAGE, DEFAULT_PAGE = 50, 20
MAX_SUMMARY, MAX_TAGS, MAX_TAG = 2000, 20, 60
MAX_ENTRIES, MAX_ROLE, MAX_CLIENT, MAX_PROJECT = 20, 80, 120, 200
MAX_TEXT = 100
TOP_LEVEL = 5


def tag(field: str, value: str) -> str:
    """A tag as stored and matched: trimmed, inner spaces collapsed, lower case."""
    cleaned = re.sub(r"\s+", " ", value).strip().lower()
    if not 0 < len(cleaned) <= MAX_TAG:
        raise InvalidArgument.of(field, f"each must be 1 to {MAX_TAG} characters")
    return cleaned


def _tags(field: str, values: list[str]) -> tuple[str, ...]:
    if len(values) > MAX_TAGS:
        raise InvalidArgument.of(field, f"at most {MAX_TAGS}")
    return tuple(dict.fromkeys(tag(field, v) for v in values))


def check_profile(profile: Profile) -> Profile:
    """The profile as stored, or INVALID_ARGUMENT naming the first field at fault."""
    if len(profile.key_staff) > MAX_ENTRIES or len(profile.references) > MAX_ENTRIES:
        field = "key_staff" if len(profile.key_staff) > MAX_ENTRIES else "references"
        raise InvalidArgument.of(field, f"at most {MAX_ENTRIES}")
    staff = tuple(
        KeyStaff(require_name("key_staff.role", s.role, MAX_ROLE), _headcount(s.count))
        for s in profile.key_staff
    )
    references = tuple(
        ClientReference(
            require_name("references.client", r.client, MAX_CLIENT),
            require_name("references.project", r.project, MAX_PROJECT),
            _year(r.year),
        )
        for r in profile.references
    )
    return Profile(
        limit_text("summary", profile.summary, MAX_SUMMARY),
        _tags("specialties", list(profile.specialties)),
        _tags("industries", list(profile.industries)),
        _tags("regions", list(profile.regions)),
        _tags("certifications", list(profile.certifications)),
        staff,
        references,
    )


def _headcount(count: int) -> int:
    if not 1 <= count <= 10_000:
        raise InvalidArgument.of("key_staff.count", "must be 1 to 10000")
    return count


def _year(year: int) -> int:
    if year and not 1950 <= year <= datetime.now(UTC).year + 1:
        raise InvalidArgument.of("references.year", "must be 0 (not said) or a year from 1950 to next year")
    return year


def _check_filter(wanted: SearchFilter) -> SearchFilter:
    return SearchFilter(
        tag("specialty", wanted.specialty) if wanted.specialty.strip() else "",
        tag("industry", wanted.industry) if wanted.industry.strip() else "",
        tag("region", wanted.region) if wanted.region.strip() else "",
        limit_text("text", wanted.text, MAX_TEXT),
    )


def _require_reader(caller: Principal) -> None:
    """People and API keys browse the directory; devices and services have no business there."""
    if caller.kind not in (Kind.USER, Kind.API_KEY):
        raise PermissionDenied("the directory is for people and API keys", reason="NOT_A_READER")


class Directory:
    def __init__(self, db: Transactions) -> None:
        self._db = db

    async def search(
        self, caller: Principal, wanted: SearchFilter, page_size: int, token: str
    ) -> tuple[list[Listing], str]:
        _require_reader(caller)
        wanted = _check_filter(wanted)
        limit = min(max(page_size or DEFAULT_PAGE, 1), MAX_PAGE)
        async with self._db.transaction({}) as conn:
            found = await storage.search(conn, wanted, decode_cursor(token), limit)
        listings = [await self._with_record(listing) for listing in found]
        return listings, encode_cursor(found[-1]) if len(found) == limit else ""

    async def get(self, caller: Principal, supplier_id: str) -> Listing:
        _require_reader(caller)
        target = parse_id("supplier_id", supplier_id)
        async with self._db.transaction({}) as conn:
            listing = await storage.get_listing(conn, target)
        if listing is None:
            raise NotFound("supplier not found", reason="SUPPLIER_NOT_FOUND")
        return await self._with_record(listing)

    async def update_profile(self, caller: Principal, profile: Profile) -> Listing:
        """The caller's own supplier's profile, replaced whole (its admins only), audited."""
        supplier = caller.require_supplier()
        profile = check_profile(profile)
        settings = {"app.supplier_id": str(supplier), "app.user_id": caller.subject}
        async with self._db.transaction(settings) as conn:
            if not await is_supplier_admin(conn, caller, supplier):
                raise PermissionDenied("only the supplier's admins edit its profile", reason="NOT_ADMIN")
            await storage.put_profile(conn, supplier, profile, caller.subject)
            await audit.record(conn, caller, "supplier.profile_update", target=str(supplier))
        return await self.get(caller, str(supplier))

    async def _with_record(self, listing: Listing) -> Listing:
        async with self._db.transaction({"app.supplier_id": str(listing.id)}) as conn:
            record = await storage.track_record(conn, listing.id)
        return replace(listing, track_record=record)

    async def record_level(self, caller: Principal, day: str, level: int) -> None:
        """The day's smart-factory level of the token's tenant, from the analytics service alone."""
        caller.require_service("analytics")
        tenant_id = caller.require_tenant()
        when = _recent_day(parse_day("day", day))
        if not 0 <= level <= TOP_LEVEL:
            raise InvalidArgument.of("level", f"must be 0 to {TOP_LEVEL}")
        async with self._db.tenant(tenant_id) as conn:
            await storage.put_level(conn, tenant_id, when, level)


def _recent_day(day: date) -> date:
    if day > datetime.now(UTC).date() + timedelta(days=1):
        raise InvalidArgument.of("day", "must not be in the future")
    return day
