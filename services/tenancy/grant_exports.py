"""Exports of a grant by its grantee (docs/SHARING.md, "Exporting a grant"): each step decided here and audited
for the grantor, as every shared read is.

The worker asks (``authorize``) with a token scoped to the grantee (a tenant, or a supplier: the grantor's
supplier or an AI-analysis partner) at four steps: when the grantee asks
for the export, when it starts writing the package, before it publishes it, and before every slice of a
download. Each step finds the grant through the grantee (another organisation's grant is as unknown as one
that never existed), checks it is still live, and writes `share.export` (ok, or denied with the reason) to
the grantor's audit log. An allowed step answers the grant's terms, the owner's cell, and the one part of
the owner's catalog the package may hold: the granted series still in it, their machines and those
machines' ancestors (nothing else of the grantor's tree). The worker's reads of the points in between go
through ``Sharing.authorize_read``, one per series.

Who of a grantee may export: a grantee tenant's owners, admins and read-scoped keys (the worker checks the
token's role and scopes); a supplier grantee's admins, decided here at every step from the supplier's staff
list, because a supplier's token carries no role. A supplier's export is audited under the grantor with the
supplier named, so it shows in the supplier's audit log too, as its shared reads do.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from services.runtime.errors import InvalidArgument, PermissionDenied, ServiceError
from services.runtime.principal import Principal
from services.runtime.transactions import Transactions
from services.runtime.validation import parse_id
from services.tenancy import grantee_acts
from services.tenancy.grantee_acts import GranteeAct, grantee_of_token, reader_actor
from services.tenancy.models import Asset, Series
from services.tenancy.sharing_models import LEVEL_NS, Grant
from services.tenancy.storage import assets as asset_storage
from services.tenancy.storage import organisations as org_storage

STAGES = ("request", "write", "finish", "download")


@dataclass(frozen=True)
class ExportStep:
    """One step of a grantee's export, unchecked."""

    grant_id: str
    export_id: str
    reader: str  # who of the grantee asked or downloads: "user:<id>" or "api_key:<id>"
    stage: str  # one of STAGES ('' when unspecified)
    rows: int  # finish: points or buckets written


@dataclass(frozen=True)
class ExportTerms:
    grant: Grant
    cell: str  # the owner's
    assets: list[Asset]  # parents first: only what places the series
    series: list[Series]


class GrantExports:
    def __init__(self, db: Transactions) -> None:
        self._db = db

    async def authorize(self, caller: Principal, step: ExportStep) -> ExportTerms:
        """The grant's terms if it still lets its grantee export; audited for the grantor either way."""
        caller.require_service("worker")
        grantee = grantee_of_token(caller)
        grant_id, export_id = parse_id("grant_id", step.grant_id), parse_id("export_id", step.export_id)
        if step.stage not in STAGES:
            raise InvalidArgument.of("stage", "must be REQUEST, WRITE, FINISH or DOWNLOAD")
        act = GranteeAct(caller, grantee, grant_id, reader_actor(step.reader), "share.export")

        async def supplier_admin(conn) -> None:
            if caller.supplier_id is not None:
                await _require_supplier_admin(conn, caller.supplier_id, act.actor)

        async def decide(conn, grant: Grant, grantor: uuid.UUID):
            try:
                grant.check_live(datetime.now(UTC))
            except PermissionDenied as refusal:
                return None, refusal
            return await _terms(conn, grant, grantor), None

        def detail(grant: Grant | None, terms: ExportTerms | None, refusal: ServiceError | None) -> dict:
            return _detail(grant, export_id, step, terms, refusal)

        return await grantee_acts.decided(self._db, act, decide, detail, supplier_admin)


async def _require_supplier_admin(conn, supplier: uuid.UUID, actor: tuple[str, str]) -> None:
    """A supplier's export is its admins' to ask for and download: a package is the grantor's data leaving
    the platform, as a tenant's own export is its owners' and admins'. Staff still read the grant."""
    kind, subject = actor
    role = (
        await org_storage.supplier_role(conn, supplier, parse_id("reader", subject))
        if kind == "user"
        else None
    )
    if role != "admin":
        raise PermissionDenied(
            "a supplier's exports of grants are for its admins", reason="EXPORT_NOT_ALLOWED"
        )


async def _terms(conn, grant: Grant, grantor: uuid.UUID) -> ExportTerms:
    tenant = await org_storage.get_tenant(conn, grantor)
    series = await asset_storage.list_series(conn, [], grant.series_ids)
    return ExportTerms(grant, tenant.cell, placing(await asset_storage.list_assets(conn), series), series)


def placing(tree: list[Asset], series: list[Series]) -> list[Asset]:
    """The assets of ``tree`` (parents first) that place ``series``: their machines and every ancestor."""
    parents = {a.id: a.parent_id for a in tree}
    wanted: set[uuid.UUID] = set()
    for node in {s.machine_id for s in series}:
        while node is not None and node not in wanted:
            wanted.add(node)
            node = parents.get(node)
    return [a for a in tree if a.id in wanted]


def _detail(
    grant: Grant | None,
    export_id: uuid.UUID,
    step: ExportStep,
    terms: ExportTerms | None,
    refusal: ServiceError | None,
) -> dict:
    detail: dict = {"export": str(export_id), "stage": step.stage}
    if grant is not None:
        detail |= {
            "series_count": len(terms.series) if terms else len(grant.series_ids),
            "from_ns": grant.start_ns,
            "to_ns": grant.end_ns,
            "resolution_ns": LEVEL_NS[grant.granularity],
        }
    if step.stage == "finish":
        detail["rows"] = step.rows
    if refusal is not None:
        detail["reason"] = refusal.reason
    return detail
