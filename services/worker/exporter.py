"""Making one export package (docs/DATA-MODEL.md): the worker's side of an export job.

The asset tree and series come from tenancy over gRPC (`ListAssets`, `ListSeries`, called as the service
`worker` with a token scoped to the tenant); the points from the tenant's blocks on its cell, decoded with
tscodec, a series at a time (each series as it stood when it was read: points arriving meanwhile may or
may not be in the package). An export of a grant by its grantee writes the grant's files instead
(services/worker/grant_exporter.py), a refusal by tenancy failing it; a supplier grantee's export has its
row on the grantor's cell, seen only in a transaction scoped to the supplier (migration 0021). Progress (rows and series done) is
written after every series; the job's
queue entry is kept alive meanwhile (services/worker/export_queue.py), so a live export is not taken over.

Files are written into a folder of this run's own, ``{export_dir}/{tenant}/{export}.{run}.partial/``,
then stored in one .zip renamed into place as ``{export}.zip``; a job started again (its worker died)
starts from scratch. The heavy work (decoding, sorting, Parquet, zip) runs in a thread so the worker's
event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
import uuid
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import numpy as np

import tscodec
from services.exchange.package import ASSETS, SERIES, PackageWriter, zip_folder
from services.runtime.errors import ServiceError, Unavailable
from services.runtime.transactions import CellTransactions
from services.worker import export_storage as storage
from services.worker.catalog import TenantTree
from services.worker.export_storage import Started
from services.worker.grant_checks import Asking
from services.worker.grant_exporter import Progress

log = logging.getLogger(__name__)


ROW_WAITS, ROW_WAIT_S = 50, 0.1


@dataclass(frozen=True)
class ExportJob:
    """One export to make: on ``cell``, of ``tenant_id``'s data; a supplier grantee's export of a grant
    names the supplier whose row it is (the tenant is then the grantor)."""

    cell: str
    tenant_id: uuid.UUID
    export_id: uuid.UUID
    supplier_id: uuid.UUID | None = None

    @property
    def member(self) -> str:
        supplier = f"|{self.supplier_id}" if self.supplier_id else ""
        return f"{self.cell}|{self.tenant_id}|{self.export_id}{supplier}"

    @classmethod
    def parse(cls, member: str | bytes) -> ExportJob:
        """Raises ValueError for a member not made by ``member``."""
        text = member.decode() if isinstance(member, bytes) else member
        cell, tenant, export, *supplier = text.split("|")
        if len(supplier) > 1:
            raise ValueError(f"not an export job: {text!r}")
        return cls(cell, uuid.UUID(tenant), uuid.UUID(export), uuid.UUID(supplier[0]) if supplier else None)


def package_path(export_dir: Path, tenant_id: uuid.UUID, export_id: uuid.UUID) -> Path:
    return export_dir / str(tenant_id) / f"{export_id}.zip"


class ExportCells(CellTransactions, Protocol):
    def supplier(self, supplier_id: uuid.UUID, cell: str) -> AbstractAsyncContextManager[Any]:
        """A transaction scoped to a supplier on ``cell`` (its export rows there)."""

    @property
    def names(self) -> tuple[str, ...]: ...


def row_scope(cells: ExportCells, job: ExportJob) -> AbstractAsyncContextManager[Any]:
    """The transaction that sees the job's export row: the supplier's for a supplier grantee's export,
    else the tenant's."""
    if job.supplier_id is not None:
        return cells.supplier(job.supplier_id, job.cell)
    return cells.tenant(job.tenant_id, job.cell)


class Catalog(Protocol):
    async def tree(self, tenant_id: uuid.UUID) -> TenantTree: ...


class GrantWriter(Protocol):
    async def write(
        self, asking: Asking, grant_id: str, writer: PackageWriter, with_csv: bool, progress: Progress
    ) -> dict[str, Any]: ...


class Exporter:
    def __init__(self, cells: ExportCells, catalog: Catalog, grants: GrantWriter, export_dir: Path) -> None:
        self._cells = cells
        self._catalog = catalog
        self._grants = grants
        self._dir = export_dir

    async def run(self, job: ExportJob) -> bool:
        """Make the package; False when there was nothing to do. A failure is recorded on the export
        (state failed, with the reason) and logged; only an unreachable database or tenancy is raised
        (the job is tried again)."""
        started = await self._begin(job)
        if started is None:
            return False
        folder = package_path(self._dir, job.tenant_id, job.export_id).with_suffix(
            f".{uuid.uuid4().hex}.partial"
        )
        try:
            size, sha256 = await self._make(job, folder, started)
        except Unavailable:
            raise  # tenancy or the database unreachable: the job stays pending and is tried again
        except ServiceError as exc:  # refused: a grant revoked or expired meanwhile, say
            log.warning("export refused", extra={"job": job.member, "reason": exc.reason})
            await self._fail(job, f"{exc.reason}: {exc.message}")
            return True
        except Exception as exc:
            log.exception("export failed", extra={"job": job.member})
            await self._fail(job, f"{type(exc).__name__}: {exc}")
            return True
        finally:
            await asyncio.to_thread(shutil.rmtree, folder, True)
        async with row_scope(self._cells, job) as conn:
            await storage.finish(conn, job.tenant_id, job.export_id, size, sha256)
        log.info("exported", extra={"job": job.member, "bytes": size})
        return True

    async def _fail(self, job: ExportJob, error: str) -> None:
        async with row_scope(self._cells, job) as conn:
            await storage.fail(conn, job.tenant_id, job.export_id, error)

    async def _begin(self, job: ExportJob) -> Started | None:
        """Mark the export running; None when there is nothing to do. StartExport adds the job just before
        its row commits, so a job may arrive first: its row is waited for (a few seconds at most)."""
        for _ in range(ROW_WAITS):
            async with row_scope(self._cells, job) as conn:
                if await storage.exists(
                    conn, job.tenant_id, job.export_id
                ):  # then the next statement sees it too
                    return await storage.begin(conn, job.tenant_id, job.export_id)
            await asyncio.sleep(ROW_WAIT_S)
        return None  # its row never committed

    async def _make(self, job: ExportJob, folder: Path, started: Started) -> tuple[int, str]:
        writer = PackageWriter(folder)
        if started.grant_id is None:
            manifest = await self._tenant(job, writer, started.with_csv)
        else:
            grantee = job.supplier_id or job.tenant_id
            asking = Asking(
                grantee,
                job.export_id,
                started.requested_by,
                f"export:{job.export_id}",
                job.supplier_id is not None,
            )
            manifest = await self._grants.write(
                asking,
                str(started.grant_id),
                writer,
                started.with_csv,
                Progress(partial(self._totals, job), partial(self._progress, job)),
            )
        await asyncio.to_thread(writer.finish, _manifest(job, manifest))
        target = package_path(self._dir, job.tenant_id, job.export_id)
        return await asyncio.to_thread(zip_folder, folder, target)

    async def _progress(self, job: ExportJob, rows: int, series: int) -> None:
        async with row_scope(self._cells, job) as conn:
            await storage.progress(conn, job.tenant_id, job.export_id, rows, series)

    async def _totals(self, job: ExportJob, rows: int, series: int) -> None:
        async with row_scope(self._cells, job) as conn:
            await storage.set_totals(conn, job.tenant_id, job.export_id, rows, series)

    async def _tenant(self, job: ExportJob, writer: PackageWriter, with_csv: bool) -> dict[str, Any]:
        """The whole tenant's files; the manifest's tenant and totals."""
        tree = await self._catalog.tree(job.tenant_id)
        async with self._cells.tenant(job.tenant_id, job.cell) as conn:
            counts = await storage.point_counts(conn, job.tenant_id)
        total = sum(counts.get(uuid.UUID(s["id"]), 0) for s in tree.series)
        await self._totals(job, total, len(tree.series))
        await asyncio.to_thread(writer.write_json, ASSETS, "assets", "assets", tree.assets)
        await asyncio.to_thread(writer.write_json, SERIES, "series", "series", tree.series)
        done = 0
        for number, series in enumerate(tree.series, 1):
            series_id = uuid.UUID(series["id"])
            async with self._cells.tenant(job.tenant_id, job.cell) as conn:
                payloads = await storage.payloads(conn, job.tenant_id, series_id)
            done += await asyncio.to_thread(_write_series, writer, series["id"], payloads, with_csv)
            await self._progress(job, done, number)
        return {
            "tenant": {"id": str(job.tenant_id), "name": tree.tenant_name},
            "totals": {"assets": len(tree.assets), "series": len(tree.series), "points": done},
        }


def _write_series(writer: PackageWriter, series_id: str, payloads: list[bytes], with_csv: bool) -> int:
    """One series' points in time order (blocks may overlap in time: a late block within an hour)."""
    parts = [tscodec.decode(p) for p in payloads]
    timestamps = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
    values = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.float64)
    if timestamps.size > 1 and not bool(np.all(np.diff(timestamps) > 0)):
        order = np.argsort(timestamps, kind="stable")
        timestamps, values = timestamps[order], values[order]
    writer.write_points(series_id, timestamps, values, with_csv)
    return int(timestamps.size)


def _manifest(job: ExportJob, content: dict[str, Any]) -> dict[str, Any]:
    """The manifest's fields besides the format and contents: ``content`` says whose data and how much."""
    now_ns = time.time_ns()
    return {
        "export_id": str(job.export_id),
        "created_at": datetime.fromtimestamp(now_ns / 1e9, UTC).isoformat().replace("+00:00", "Z"),
        "created_ns": now_ns,
        **content,
    }
