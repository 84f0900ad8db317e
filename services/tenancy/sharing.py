"""Consent-based data sharing (docs/SHARING.md): a tenant's owners and admins grant another organisation read
access to chosen series, a time range and a level (raw, 1 min, 1 h) for a purpose until an expiry date,
list and revoke their grants, and see every read made under each; the grantee lists what it was given.

A grantee is another tenant, the grantor's own supplier, or a supplier the platform operator registered as
an AI-analysis partner (partners are suppliers: organisations with staff who sign in and no factory data of
their own). Two live grants to the same grantee may not share a series over overlapping time ranges.

Reads are decided here, not in the gateway: analytics asks (``authorize_read``) with a token scoped to the
grantee it verified, the grant names its grantor and that tenant's cell, and the decision — allowed or
refused, with why — is written to the grantor's audit log before analytics reads anything. Nothing is
cached, so a revocation holds from the next read on.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from services.runtime import keyset
from services.runtime.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ServiceError,
)
from services.runtime.principal import Principal, Scope
from services.runtime.transactions import Transactions
from services.runtime.validation import parse_id, require_name
from services.tenancy import audit, grantee_acts
from services.tenancy.grantee_acts import GranteeAct, grantee_of_token, reader_actor
from services.tenancy.models import MANAGERS, AuditEvent, Tenant
from services.tenancy.sharing_models import LEVEL_NS, SUPPLIER, TENANT, Grant
from services.tenancy.storage import organisations as org_storage
from services.tenancy.storage import sharing as storage

MAX_SERIES, MAX_PURPOSE = 1000, 500
MAX_GRANTS_PAGE = 200


def _page_of(page_size: int, page_token: str) -> tuple[tuple, int | None]:
    """The key to read below and the page size; no size (0) keeps the answer of before paging: all."""
    size = keyset.page_size(page_size, MAX_GRANTS_PAGE, MAX_GRANTS_PAGE) if page_size else None
    return keyset.key_after(page_token, datetime, uuid.UUID), size


def _cut(found: list[Grant], size: int | None) -> tuple[list[Grant], str]:
    return keyset.cut(found, size, lambda g: (g.created_at, g.id)) if size else (found, "")


@dataclass(frozen=True)
class GrantRequest:
    """A grant as asked for, unchecked."""

    grantee_kind: str  # tenant or supplier ('' when unspecified)
    grantee_id: str
    series_ids: list[str]
    asset_ids: list[str]
    start_ns: int
    end_ns: int
    granularity: str  # raw, 1m or 1h ('' when unspecified)
    purpose: str
    expires_ns: int


@dataclass(frozen=True)
class SharedRead:
    """One read a grantee asks analytics for, unchecked."""

    grant_id: str
    series_id: str
    start_ns: int
    end_ns: int
    resolution_ns: int  # 0: raw points, else the bucket width
    reader: str  # "user:<id>" or "api_key:<id>" of the grantee


class Sharing:
    def __init__(self, db: Transactions) -> None:
        self._db = db

    async def grant(self, caller: Principal, asked: GrantRequest) -> Grant:
        tenant_id = caller.require_role(*MANAGERS)
        grantee = parse_id("grantee_id", asked.grantee_id)
        series, assets = _targets(asked)
        purpose, expires_at = _terms(asked)
        settings = {"app.tenant_id": str(tenant_id), "app.grantee_lookup": str(grantee)}
        async with self._db.transaction(settings) as conn:
            tenant = await org_storage.get_tenant(conn, tenant_id)
            labels = _covered(series, *await storage.series_labels(conn, series, assets))
            name, partner = await _grantee(conn, tenant, asked.grantee_kind, grantee)
            ids = [uuid.UUID(label["id"]) for label in labels]
            await storage.lock_pair(conn, tenant_id, grantee)
            clash = await storage.overlapping(conn, grantee, ids, asked.start_ns, asked.end_ns)
            if clash is not None:
                raise AlreadyExists(
                    f"grant {clash} to the same organisation already shares some of these series over an"
                    " overlapping time range: revoke it or choose other series or times",
                    reason="GRANT_OVERLAPS",
                )
            made = await storage.insert(
                conn,
                storage.NewGrant(
                    uuid.uuid4(), tenant.name, *_grantee_columns(asked.grantee_kind, grantee), name, partner,
                    labels, asked.start_ns, asked.end_ns, asked.granularity, purpose, expires_at,
                    f"{caller.kind.value}:{caller.subject}",
                ),
            )  # fmt: skip
            await audit.record(conn, caller, "share.grant", target=str(made.id), detail=_summary(made))
        return made

    async def revoke(self, caller: Principal, grant_id: str) -> Grant:
        tenant_id = caller.require_role(*MANAGERS)
        wanted = parse_id("grant_id", grant_id)
        async with self._db.tenant(tenant_id) as conn:
            found = await storage.given(conn, wanted)
            if found is None:
                raise NotFound(f"grant {wanted} not found", reason="GRANT_NOT_FOUND")
            if found.revoked_at is not None:
                return found  # revoking twice changes nothing, and is not audited twice
            revoked = await storage.revoke(conn, wanted, f"{caller.kind.value}:{caller.subject}")
            await audit.record(conn, caller, "share.revoke", target=str(wanted), detail=_summary(revoked))
        return revoked

    async def given(
        self, caller: Principal, include_ended: bool, page_size: int, page_token: str
    ) -> tuple[list[Grant], str]:
        """A page of the grants the caller's tenant gave, newest first (no size: all of them)."""
        after, size = _page_of(page_size, page_token)
        async with self._db.tenant(caller.require_role(*MANAGERS)) as conn:
            return _cut(await storage.list_given(conn, include_ended, after, size and size + 1), size)

    async def received(
        self, caller: Principal, include_ended: bool, page_size: int, page_token: str
    ) -> tuple[list[Grant], str]:
        """A page of the grants to the caller's organisation, newest first (no size: all of them)."""
        organisation, settings = _organisation(caller)
        after, size = _page_of(page_size, page_token)
        async with self._db.transaction(settings) as conn:
            found = await storage.list_received(conn, organisation, include_ended, after, size and size + 1)
        return _cut(found, size)

    async def history(
        self, caller: Principal, grant_id: str, limit: int, page_token: str
    ) -> tuple[list[AuditEvent], str]:
        tenant_id = caller.require_role(*MANAGERS)
        wanted = parse_id("grant_id", grant_id)
        size = min(max(limit or 100, 1), audit.MAX_PAGE)
        async with self._db.tenant(tenant_id) as conn:
            if await storage.given(conn, wanted) is None:
                raise NotFound(f"grant {wanted} not found", reason="GRANT_NOT_FOUND")
            found = await storage.history(conn, wanted, audit.parse_page_token(page_token), size)
        return found, audit.page_token(found[-1].id) if len(found) == size else ""

    async def authorize_read(self, caller: Principal, read: SharedRead) -> tuple[uuid.UUID, str]:
        """(the grantor, its cell) if the grant lets ``read`` through; the decision is audited either way.
        Analytics asks for the grantee's queries, the worker for its reads for a grantee's export."""
        caller.require_service("analytics", "worker")
        grantee = grantee_of_token(caller)
        grant_id, series = parse_id("grant_id", read.grant_id), parse_id("series_id", read.series_id)
        if read.end_ns <= read.start_ns or read.resolution_ns < 0:
            raise InvalidArgument.of("range", "end_ns must be after start_ns", reason="EMPTY_RANGE")
        act = GranteeAct(caller, grantee, grant_id, reader_actor(read.reader), "share.read")

        async def decide(conn, grant: Grant, grantor: uuid.UUID):
            cell, refusal = await _decide(conn, grant, grantor, series, read)
            return (grantor, cell), refusal

        return await grantee_acts.decided(
            self._db, act, decide, lambda grant, answer, refusal: _read_detail(series, read, refusal)
        )

    async def set_partner(self, caller: Principal, supplier_id: str, partner: bool) -> None:
        caller.require_platform_operator()
        supplier = parse_id("supplier_id", supplier_id)
        async with self._db.transaction({"app.operator": "on"}) as conn:
            if not await storage.set_partner(conn, supplier, partner):
                raise NotFound(f"supplier {supplier} not found", reason="SUPPLIER_NOT_FOUND")
            await audit.record(
                conn,
                caller,
                "supplier.analysis_partner",
                supplier_id=supplier,
                target=str(supplier),
                detail={"partner": partner},
            )


def _targets(asked: GrantRequest) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    series = [parse_id("series_ids", s) for s in asked.series_ids]
    assets = [parse_id("asset_ids", a) for a in asked.asset_ids]
    if not series and not assets:
        raise InvalidArgument.of("series_ids", "name at least one series or asset to share")
    return series, assets


def _terms(asked: GrantRequest) -> tuple[str, datetime]:
    """The purpose and expiry, after checking the grant's kind of grantee, level and time range."""
    if asked.grantee_kind not in (TENANT, SUPPLIER):
        raise InvalidArgument.of("grantee_kind", "must be TENANT or SUPPLIER")
    if asked.granularity not in LEVEL_NS:
        raise InvalidArgument.of("granularity", "must be RAW, MINUTE or HOUR")
    if asked.start_ns < 0 or asked.end_ns <= asked.start_ns:
        raise InvalidArgument.of(
            "range", "must start at or after 1970 and end after it starts", reason="EMPTY_RANGE"
        )
    level = LEVEL_NS[asked.granularity]
    if level and (asked.start_ns % level or asked.end_ns % level):
        unit = "minute" if asked.granularity == "1m" else "hour"
        raise InvalidArgument.of(
            "range", f"must start and end on a whole {unit} for a {unit} grant", reason="RANGE_NOT_ALIGNED"
        )
    if asked.expires_ns <= time.time_ns():
        raise InvalidArgument.of(
            "expires_ns", "lies in the past: a grant must expire in the future", reason="EXPIRY_IN_PAST"
        )
    return require_name("purpose", asked.purpose, MAX_PURPOSE), datetime.fromtimestamp(
        asked.expires_ns / 1e9, UTC
    )


async def _grantee(conn, grantor: Tenant, kind: str, grantee: uuid.UUID) -> tuple[str, bool]:
    """(name, registered AI-analysis partner) of a grantee the grantor may give data to."""
    if kind == TENANT:
        if grantee == grantor.id:
            raise InvalidArgument.of("grantee_id", "is your own tenant", reason="GRANTEE_IS_GRANTOR")
        name = await storage.tenant_name(conn, grantee)
        if name is None:
            raise NotFound(f"no tenant {grantee}", reason="GRANTEE_NOT_FOUND")
        return name, False
    found = await storage.supplier_of(conn, grantee)
    if found is None:
        raise NotFound(f"no supplier {grantee}", reason="GRANTEE_NOT_FOUND")
    name, partner = found
    if not partner and grantee != grantor.supplier_id:
        raise FailedPrecondition(
            f"{name} is neither your supplier nor a registered AI-analysis partner",
            reason="GRANTEE_NOT_ELIGIBLE",
        )
    return name, partner


def _grantee_columns(kind: str, grantee: uuid.UUID) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    return (grantee, None) if kind == TENANT else (None, grantee)


def _covered(series: list[uuid.UUID], labels: list[dict], unknown_assets: set[uuid.UUID]) -> list[dict]:
    """The labels of the series a grant covers, after checking every named series and asset is the tenant's."""
    found = {uuid.UUID(label["id"]) for label in labels}
    missing = [s for s in series if s not in found]
    if missing:  # another tenant's series too: as unknown as one that never existed
        raise NotFound(f"series {missing[0]} not found", reason="SERIES_NOT_FOUND")
    if unknown_assets:
        raise NotFound(f"asset {sorted(unknown_assets)[0]} not found", reason="ASSET_NOT_FOUND")
    if not labels:
        raise InvalidArgument.of("asset_ids", "hold no series to share")
    if len(labels) > MAX_SERIES:
        raise InvalidArgument.of(
            "series_ids", f"a grant shares at most {MAX_SERIES:,} series", reason="TOO_MANY_SERIES"
        )
    return labels


def _organisation(caller: Principal) -> tuple[uuid.UUID, dict[str, str]]:
    """The organisation a reader of shared data acts for, and its row-level-security setting."""
    if caller.supplier_id is not None and caller.tenant_id is None:
        supplier = caller.require_supplier()
        return supplier, {"app.supplier_id": str(supplier)}
    tenant = caller.require_scope(Scope.READ)
    return tenant, {"app.tenant_id": str(tenant)}


async def _decide(
    conn, grant: Grant, grantor: uuid.UUID, series: uuid.UUID, read: SharedRead
) -> tuple[str, ServiceError | None]:
    """(the grantor's cell, None) when the read may go ahead, else ('', why not)."""
    try:
        grant.check_read(series, read.start_ns, read.end_ns, read.resolution_ns)
    except (NotFound, PermissionDenied) as refusal:
        return "", refusal
    cell = await storage.series_cell(conn, grantor, series)
    if cell is None:  # the grantor deleted the series from its catalog
        return "", NotFound(
            f"series {series} is no longer shared by grant {grant.id}", reason="SERIES_NOT_SHARED"
        )
    return cell, None


def _read_detail(series: uuid.UUID, read: SharedRead, refusal: ServiceError | None) -> dict:
    detail = {
        "series": str(series),
        "from_ns": read.start_ns,
        "to_ns": read.end_ns,
        "resolution_ns": read.resolution_ns,
    }
    if refusal is not None:
        detail["reason"] = refusal.reason
    return detail


def _summary(grant: Grant) -> dict:
    kind, grantee = grant.grantee
    return {
        "grantee_kind": kind,
        "grantee": str(grantee),
        "grantee_name": grant.grantee_name,
        "series_count": len(grant.series_ids),
        "from_ns": grant.start_ns,
        "to_ns": grant.end_ns,
        "granularity": grant.granularity,
        "purpose": grant.purpose,
        "expires": grant.expires_at.isoformat(),
    }
