"""Making one export package (docs/DATA-MODEL.md): the worker's side of an export job.

The asset tree and series come from tenancy over gRPC (`ListAssets`, `ListSeries`, called as the service
`worker` with a token scoped to the tenant); the points from the tenant's blocks on its cell, decoded with
tscodec, a series at a time (each series as it stood when it was read: points arriving meanwhile may or
may not be in the package). An export of a grant by its grantee writes the grant's files instead
(services/worker/grant_exporter.py), a refusal by tenancy failing it; a supplier grantee's export has its
row on the grantor's cell, seen only in a transaction scoped to the supplier (migration 0021). Progress (rows and series done) is
written after every series; the job's
queue entry is kept alive meanwhile (services/worker/export_queue.py), so a live export is not taken over.

A run holds its export by a lease in PostgreSQL (migration 0022), taken by a conditional UPDATE and renewed
every third of ``lease_s``: a second entry for the export (the sweep's, services/worker/export_sweep.py, or
any duplicate) finds it held or finished and does nothing, and a run whose lease another took over stops
and writes nothing more. The lease is shorter than the queue's claim time by the queue's renewal period
(``lease_for``), so when a dead worker's entry is claimed its lease has always expired.

Files are written into a folder of this run's own, ``{export_dir}/{tenant}/{export}.{lease}.partial/``,
then stored in one .zip of the run's own, moved into place as ``{export}.zip`` in the transaction that
marks the export done under the run's lease (a run that lost its lease moves nothing); a job started again
(its worker died) starts from scratch. The heavy work (decoding, sorting, Parquet, zip) runs in a thread so the worker's
event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import time
import uuid
from collections.abc import Coroutine
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TypeVar

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
T = TypeVar("T")


def lease_for(claim_idle_s: float) -> float:
    """The export lease for a queue whose entries are re-claimed every third of ``claim_idle_s``: the last
    renewal of both comes at most that third apart, so the lease must end that much before the claim."""
    return claim_idle_s * 2 / 3


class LeaseLost(Exception):
    """Another run holds the export now (this one's lease expired): this run stops and writes nothing."""


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
    def __init__(
        self,
        cells: ExportCells,
        catalog: Catalog,
        grants: GrantWriter,
        export_dir: Path,
        lease_s: float = 40.0,
    ) -> None:
        self._cells = cells
        self._catalog = catalog
        self._grants = grants
        self._dir = export_dir
        self._lease_s = lease_s

    async def run(self, job: ExportJob) -> bool:
        """Make the package; False when there was nothing to do (finished, or another run holds it). A
        failure is recorded on the export (state failed, with the reason) and logged; only an unreachable
        database or tenancy is raised (the job is tried again)."""
        lease = uuid.uuid4()
        started = await self._begin(job, lease)
        if started is None:
            return False
        folder = package_path(self._dir, job.tenant_id, job.export_id).with_suffix(f".{lease.hex}.partial")
        made = folder.with_suffix(".zip")
        try:
            size, sha256 = await self._leased(job, lease, self._make(job, lease, folder, made, started))
            await self._finish(job, lease, made, size, sha256)
        except LeaseLost:
            log.warning("export taken over by another run", extra={"job": job.member})
            return False
        except Unavailable:
            raise  # tenancy or the database unreachable: the job stays pending and is tried again
        except ServiceError as exc:  # refused: a grant revoked or expired meanwhile, say
            log.warning("export refused", extra={"job": job.member, "reason": exc.reason})
            await self._fail(job, lease, f"{exc.reason}: {exc.message}")
        except Exception as exc:
            log.exception("export failed", extra={"job": job.member})
            await self._fail(job, lease, f"{type(exc).__name__}: {exc}")
        finally:
            await asyncio.to_thread(shutil.rmtree, folder, True)
            await asyncio.to_thread(made.unlink, True)
        return True

    async def _finish(self, job: ExportJob, lease: uuid.UUID, made: Path, size: int, sha256: str) -> None:
        """Done, and the run's package moved into place before that commits: only the lease's holder does."""
        async with row_scope(self._cells, job) as conn:
            if not await storage.finish(conn, job.tenant_id, job.export_id, lease, size, sha256):
                raise LeaseLost
            await asyncio.to_thread(os.replace, made, package_path(self._dir, job.tenant_id, job.export_id))
        log.info("exported", extra={"job": job.member, "bytes": size})

    async def _fail(self, job: ExportJob, lease: uuid.UUID, error: str) -> None:
        async with row_scope(self._cells, job) as conn:
            await storage.fail(conn, job.tenant_id, job.export_id, lease, error)

    async def _begin(self, job: ExportJob, lease: uuid.UUID) -> Started | None:
        """Take the export under ``lease``; None when there is nothing to do. StartExport adds the job just
        before its row commits, so a job may arrive first: its row is waited for (a few seconds at most)."""
        for _ in range(ROW_WAITS):
            async with row_scope(self._cells, job) as conn:
                if await storage.exists(
                    conn, job.tenant_id, job.export_id
                ):  # then the next statement sees it too
                    return await storage.begin(conn, job.tenant_id, job.export_id, lease, self._lease_s)
            await asyncio.sleep(ROW_WAIT_S)
        return None  # its row never committed

    async def _leased(self, job: ExportJob, lease: uuid.UUID, work: Coroutine[Any, Any, T]) -> T:
        """``work``, renewing the lease every third of it; LeaseLost (``work`` cancelled) once another run
        holds the export, or when the database did not answer for a whole lease."""
        task = asyncio.ensure_future(work)
        renewed = time.monotonic()
        try:
            while not (await asyncio.wait({task}, timeout=self._lease_s / 3))[0]:
                if await self._renew(job, lease):
                    renewed = time.monotonic()
                elif time.monotonic() - renewed > self._lease_s:
                    raise LeaseLost
            return task.result()
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _renew(self, job: ExportJob, lease: uuid.UUID) -> bool:
        """False when the database did not answer (tried again at the next renewal)."""
        try:
            async with row_scope(self._cells, job) as conn:
                held = await storage.renew(conn, job.tenant_id, job.export_id, lease, self._lease_s)
        except ServiceError as exc:
            log.warning("export lease not renewed", extra={"job": job.member, "error": exc.message})
            return False
        if not held:
            raise LeaseLost
        return True

    async def _make(
        self, job: ExportJob, lease: uuid.UUID, folder: Path, made: Path, started: Started
    ) -> tuple[int, str]:
        """The package at ``made``: its size and SHA-256."""
        writer = PackageWriter(folder)
        if started.grant_id is None:
            manifest = await self._tenant(job, lease, writer, started.with_csv)
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
                Progress(
                    partial(self._progress, job, lease, totals=True), partial(self._progress, job, lease)
                ),
            )
        await asyncio.to_thread(writer.finish, _manifest(job, manifest))
        return await asyncio.to_thread(zip_folder, folder, made)

    async def _progress(
        self, job: ExportJob, lease: uuid.UUID, rows: int, series: int, *, totals: bool = False
    ) -> None:
        async with row_scope(self._cells, job) as conn:
            if not await storage.progress(
                conn, job.tenant_id, job.export_id, lease, rows, series, totals=totals
            ):
                raise LeaseLost

    async def _tenant(
        self, job: ExportJob, lease: uuid.UUID, writer: PackageWriter, with_csv: bool
    ) -> dict[str, Any]:
        """The whole tenant's files; the manifest's tenant and totals."""
        tree = await self._catalog.tree(job.tenant_id)
        async with self._cells.tenant(job.tenant_id, job.cell) as conn:
            counts = await storage.point_counts(conn, job.tenant_id)
        total = sum(counts.get(uuid.UUID(s["id"]), 0) for s in tree.series)
        await self._progress(job, lease, total, len(tree.series), totals=True)
        await asyncio.to_thread(writer.write_json, ASSETS, "assets", "assets", tree.assets)
        await asyncio.to_thread(writer.write_json, SERIES, "series", "series", tree.series)
        done = 0
        for number, series in enumerate(tree.series, 1):
            series_id = uuid.UUID(series["id"])
            async with self._cells.tenant(job.tenant_id, job.cell) as conn:
                payloads = await storage.payloads(conn, job.tenant_id, series_id)
            done += await asyncio.to_thread(_write_series, writer, series["id"], payloads, with_csv)
            await self._progress(job, lease, done, number)
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
