"""The export API's rules (proto/sfcloud/v1/export.proto, served by the worker): who may export, starting
one, its progress, and reading the finished package.

- Who: a tenant's owners and admins, and API keys with the `read` scope (they can read every point
  anyway); never another tenant, whose exports are simply not found. Any subscription state may export,
  cancelled included: a cancelled tenant keeps its data, and may take it away, until it is purged.
- Everything runs in a tenant transaction on the caller's cell: the tenant comes from the verified token.
- A grantee tenant exports a grant given to it (docs/SHARING.md, "Exporting a grant"): the export is the
  grantee's, like its own; tenancy decides the request and every download slice from the grant (audited for
  the grantor), so a revoked or expired grant's package is no longer served.
- A supplier grantee (the grantor's supplier, or an AI-analysis partner) exports a grant given to it too. A
  supplier has no telemetry and no cell, so its export's row lies with the data it came from: on the
  grantor's cell, tenant_id the grantor, owned by the supplier (`grantee_supplier_id`, migration 0021),
  seen only in a transaction scoped to the supplier. The grantor is tenancy's answer to the request, never
  the caller's. Any staff member of the supplier follows its exports (staff read the grant anyway);
  tenancy lets only its admins ask for one and download it, deciding each step from the supplier's staff.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from services.runtime import keyset
from services.runtime.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from services.runtime.principal import Kind, Principal, Role, Scope
from services.runtime.validation import parse_id
from services.worker import export_storage as storage
from services.worker.export_storage import ExportRow
from services.worker.exporter import ExportCells, ExportJob, package_path
from services.worker.grant_checks import DOWNLOAD, REQUEST, Asking
from sfcloud.v1 import sharing_pb2

CHUNK_BYTES = 1 << 20  # one ReadExport answer; well under the 4 MiB message limit
LISTED, MAX_LISTED = 50, 200  # exports a page holds when the caller names no size, and at most


class JobSink(Protocol):
    async def put(self, job: ExportJob) -> None: ...


class Auditor(Protocol):
    async def record(self, tenant_id: uuid.UUID, export_id: uuid.UUID, requested_by: str) -> None: ...


class GrantSteps(Protocol):
    async def step(
        self, asking: Asking, grant_id: str, stage: int, rows: int = 0
    ) -> sharing_pb2.AuthorizeGrantExportResponse:
        """Raises NotFound or PermissionDenied unless the grant lets this step of the export through."""


@dataclass(frozen=True)
class Chunk:
    data: bytes
    total_bytes: int
    sha256: str


def require_exporter(caller: Principal) -> uuid.UUID:
    """The caller's tenant, if the caller may export it."""
    tenant = caller.require_tenant()
    if caller.kind is Kind.USER and caller.role in (Role.OWNER, Role.ADMIN):
        return tenant
    if caller.kind is Kind.API_KEY and Scope.READ in caller.scopes:
        return tenant
    raise PermissionDenied(
        "exports need a tenant owner or admin, or an API key with the read scope", reason="EXPORT_NOT_ALLOWED"
    )


@dataclass(frozen=True)
class Holder:
    """Whose exports a caller sees: a tenant's (its own data and grants to it), or a supplier's (grants)."""

    id: uuid.UUID
    supplier: bool = False

    def asking(self, caller: Principal, export_id: uuid.UUID) -> Asking:
        return Asking(self.id, export_id, _who(caller), caller.origin, self.supplier)


def holder_of(caller: Principal) -> Holder:
    """A supplier's staff member holds the supplier's exports; anyone else must be a tenant's exporter."""
    if caller.kind is Kind.USER and caller.supplier_id is not None and caller.tenant_id is None:
        return Holder(caller.supplier_id, supplier=True)
    return Holder(require_exporter(caller))


class ExportsApi:
    def __init__(
        self, cells: ExportCells, queue: JobSink, export_dir: Path, auditor: Auditor, grants: GrantSteps
    ) -> None:
        self._cells = cells
        self._queue = queue
        self._dir = export_dir
        self._auditor = auditor
        self._grants = grants

    async def start(self, caller: Principal, with_csv: bool) -> ExportRow:
        """The row and its queue entry: the entry is added before the row commits (never a row without one).
        The request is in the tenant's audit log first: an export nobody can account for never starts."""
        tenant = require_exporter(caller)
        return await self._start(caller, tenant, uuid.uuid4(), with_csv, None)

    async def start_grant(self, caller: Principal, grant_id: str, with_csv: bool) -> ExportRow:
        """As ``start``, of a grant given to the caller's tenant or supplier: tenancy decides the request
        first (and audits it for the grantor)."""
        holder = holder_of(caller)
        grant, export_id = parse_id("grant_id", grant_id), uuid.uuid4()
        terms = await self._grants.step(holder.asking(caller, export_id), str(grant), REQUEST)
        if not holder.supplier:
            return await self._start(caller, holder.id, export_id, with_csv, grant)
        grantor, cell = uuid.UUID(terms.owner_tenant_id), terms.cell  # tenancy's answer, from the grant
        async with self._cells.supplier(holder.id, cell) as conn:
            row = await storage.insert(conn, grantor, export_id, with_csv, _who(caller), grant, holder.id)
            await self._queue.put(ExportJob(cell, grantor, export_id, holder.id))
        return row

    async def _start(
        self,
        caller: Principal,
        tenant: uuid.UUID,
        export_id: uuid.UUID,
        with_csv: bool,
        grant: uuid.UUID | None,
    ) -> ExportRow:
        requested_by = _who(caller)
        await self._auditor.record(tenant, export_id, requested_by)  # in the audit log before it exists
        async with self._cells.tenant(tenant, caller.cell) as conn:
            row = await storage.insert(conn, tenant, export_id, with_csv, requested_by, grant)
            await self._queue.put(ExportJob(caller.cell, tenant, export_id))
        return row

    def _scopes(self, caller: Principal, holder: Holder) -> list:
        """The transactions that see the holder's rows: its tenant's on its cell, or the supplier's on
        every cell (its exports lie with their grantors' data)."""
        if holder.supplier:
            return [self._cells.supplier(holder.id, cell) for cell in self._cells.names]
        return [self._cells.tenant(holder.id, caller.cell)]

    async def get(self, caller: Principal, export_id: str) -> ExportRow:
        holder = holder_of(caller)
        target = parse_id("export_id", export_id)
        for scope in self._scopes(caller, holder):
            async with scope as conn:
                row = await storage.get(conn, holder.id, target, holder.supplier)
            if row is not None:
                return row
        raise NotFound("export not found", reason="EXPORT_NOT_FOUND")

    async def list(self, caller: Principal, page_size: int, page_token: str) -> tuple[list[ExportRow], str]:
        """A page of the caller's exports (its tenant's, or its supplier's across cells), newest first, and
        the next page's token."""
        holder = holder_of(caller)
        after = keyset.key_after(page_token, datetime, uuid.UUID)
        size = keyset.page_size(page_size, LISTED, MAX_LISTED)
        found: list[ExportRow] = []
        for scope in self._scopes(caller, holder):
            async with scope as conn:
                found += await storage.newest(conn, holder.id, after, size + 1, holder.supplier)
        found.sort(key=lambda r: (r.created_at, r.id), reverse=True)
        return keyset.cut(found[: size + 1], size, lambda r: (r.created_at, r.id))

    async def read(self, caller: Principal, export_id: str, offset: int) -> Chunk:
        """At most CHUNK_BYTES of the finished package from ``offset``."""
        row = await self.get(caller, export_id)
        if row.state != "done":
            raise FailedPrecondition(f"the export is {row.state}, not done", reason="EXPORT_NOT_READY")
        if not 0 <= offset <= row.bytes:
            raise InvalidArgument.of("offset", f"must lie between 0 and {row.bytes}")
        if row.grant_id is not None:  # served only while the grant holds (and to a supplier's admins)
            await self._grants.step(holder_of(caller).asking(caller, row.id), str(row.grant_id), DOWNLOAD)
        path = package_path(self._dir, row.tenant_id, row.id)
        try:
            data = await asyncio.to_thread(_read, path, offset)
        except FileNotFoundError:
            raise NotFound("the export's package is no longer stored", reason="EXPORT_GONE") from None
        return Chunk(data, row.bytes, row.sha256)


def _who(caller: Principal) -> str:
    return f"{caller.kind.value}:{caller.subject}"


def _read(path: Path, offset: int) -> bytes:
    with path.open("rb") as f:
        f.seek(offset)
        return f.read(CHUNK_BYTES)
