"""Importing a package into a tenant (`sf import`, docs/DATA-MODEL.md, "Import").

1. Every file's SHA-256 is checked against the manifest before anything is written: a mismatch, a
   missing or an unlisted file refuses the package, naming the file.
2. The asset tree and series are checked (ISA-95 levels, parents present, series on machines, points
   only of listed series) and made in the target tenant with new ids (services/tenancy/imports.py), in one
   transaction.
3. Before that, every points file is read (its bytes hashed again as they are read), checked (one
   series, timestamps increasing, 1970 to a day ahead) and encoded into blocks made exactly as ingest and
   compaction make them (an hour's points of a series in blocks of at most ``target_points``); after it,
   the blocks of every series are written in one transaction on the tenant's cell, and each series'
   newest point goes to ``telemetry.series_latest``.

A package of aggregates (an export of a minute or hour grant, docs/SHARING.md) is refused whole, naming its
first aggregates file: sfcloud keeps points, and buckets cannot be turned back into the points they sum up,
so no import of one could be exact.

Never half-written: nothing is written until every file has been read and checked; the tree
is one transaction, the points another. If the import stops between
them, running it again finds the tree made (same ids) and loads the points; if the points are there
already it loads nothing.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from services.exchange import storage
from services.exchange.package import ASSETS, SERIES, Package, PackageError
from services.runtime.blocks import Block, encode_block, hour_runs
from services.runtime.transactions import Transactions
from services.tenancy.imports import ImportedTree, create_tree, new_id
from services.tenancy.models import ASSET_KINDS, PARENT_KINDS, SERIES_KINDS, Asset, Series

DAY_NS = 86_400 * 10**9


class Cells(Protocol):
    def tenant(self, tenant_id: uuid.UUID, cell: str) -> AbstractAsyncContextManager[Any]: ...


@dataclass(frozen=True)
class ImportReport:
    tenant_id: uuid.UUID
    export_id: str
    assets: dict[uuid.UUID, uuid.UUID]  # old id → new id
    series: dict[uuid.UUID, uuid.UUID]
    points: int
    blocks: int
    resumed: bool  # the tree (or the points too) was there from an earlier run

    def mapping(self) -> dict[str, dict[str, str]]:
        return {
            "assets": {str(k): str(v) for k, v in self.assets.items()},
            "series": {str(k): str(v) for k, v in self.series.items()},
        }


async def import_package(
    package: Package,
    tenant_id: uuid.UUID,
    tenancy: Transactions,
    cells: Cells,
    target_points: int = 4096,
    now_ns: Callable[[], int] = time.time_ns,
) -> ImportReport:
    await asyncio.to_thread(package.verify)
    _refuse_aggregates(package)
    assets = parse_assets(package.read_json(ASSETS, "assets"))
    series = parse_series(package.read_json(SERIES, "series"), assets)
    export_id = str(package.manifest.get("export_id", ""))
    made: dict[uuid.UUID, list[Block]] = {}
    for name, old in _point_files(package, series):  # every file checked and encoded before any write
        new = new_id(tenant_id, export_id, old)
        made[new] = await asyncio.to_thread(_blocks, package, name, new, target_points, now_ns())
    tree = await create_tree(tenancy, tenant_id, export_id, assets, series)
    async with cells.tenant(tenant_id, tree.cell) as conn:
        loaded = await storage.has_blocks(conn, tenant_id, list(tree.series.values()))
        for series_id, blocks in [] if loaded else made.items():
            await storage.insert_blocks(conn, tenant_id, blocks)
            if blocks:
                await storage.set_latest(conn, tenant_id, series_id, blocks[-1].end_ns, blocks[-1].last_value)
    points = 0 if loaded else sum(b.count for blocks in made.values() for b in blocks)
    count = 0 if loaded else sum(len(blocks) for blocks in made.values())
    return ImportReport(tenant_id, export_id, tree.assets, tree.series, points, count, _resumed(tree, loaded))


def _refuse_aggregates(package: Package) -> None:
    found = package.aggregate_files()
    if found:
        width = int(found[0].get("bucket_ns", 0)) // 10**9
        raise PackageError(
            found[0]["path"],
            f"holds {width}-second aggregates (an export of a minute or hour grant), not points: sfcloud keeps"
            " points and cannot rebuild them from buckets, so it imports nothing of this package (read its"
            " aggregates/ files with any Parquet reader)",
            "AGGREGATES_NOT_IMPORTABLE",
        )


def _resumed(tree: ImportedTree, loaded: bool) -> bool:
    return loaded or (tree.created == 0 and bool(tree.assets))


def _point_files(package: Package, series: list[Series]) -> list[tuple[str, uuid.UUID]]:
    known = {str(s.id): s.id for s in series}
    files = []
    for entry in package.point_files():
        if entry.get("series_id") not in known:
            raise PackageError(entry["path"], "holds points of a series not in series.json", "BAD_CONTENT")
        files.append((entry["path"], known[entry["series_id"]]))
    return files


def _blocks(package: Package, name: str, series_id: uuid.UUID, target: int, now_ns: int) -> list[Block]:
    """The file's points as blocks: within one UTC hour each, at most ``target`` points."""
    points = package.read_points(name)
    timestamps, values = points.timestamps, points.values
    if timestamps.size and (timestamps[0] < 0 or timestamps[-1] > now_ns + DAY_NS):
        raise PackageError(name, "timestamps must lie between 1970 and one day ahead", "BAD_CONTENT")
    if timestamps.size > 1 and not bool(np.all(np.diff(timestamps) > 0)):
        raise PackageError(name, "timestamps must increase strictly (one value per time)", "BAD_CONTENT")
    made = []
    for run in hour_runs(timestamps):
        for start in range(run.start, run.stop, target):
            end = min(start + target, run.stop)
            made.append(encode_block(series_id, timestamps[start:end], values[start:end]))
    return made


def parse_assets(rows: list[dict[str, Any]]) -> list[Asset]:
    """The tree, parents first; every node under a parent of the level ISA-95 allows."""
    try:
        nodes = {
            uuid.UUID(r["id"]): Asset(
                uuid.UUID(r["id"]),
                uuid.UUID(r["parent_id"]) if r.get("parent_id") else None,
                r["kind"],
                str(r["name"]),
                r.get("machine_type") or None,
                float(r["ideal_cycle_s"]) if r.get("ideal_cycle_s") is not None else None,
            )
            for r in rows
        }
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise PackageError(ASSETS, f"malformed asset ({exc!r})", "BAD_CONTENT") from None
    ordered: list[Asset] = []
    placed: dict[uuid.UUID, str] = {}
    while len(ordered) < len(nodes):
        ready = [
            a for a in nodes.values() if a.id not in placed and (a.parent_id is None or a.parent_id in placed)
        ]
        if not ready:
            raise PackageError(
                ASSETS, "an asset's parent is missing (or the tree has a cycle)", "BAD_CONTENT"
            )
        for asset in ready:
            _check_level(asset, placed.get(asset.parent_id) if asset.parent_id else None)
            placed[asset.id] = asset.kind
            ordered.append(asset)
    return ordered


def _check_level(asset: Asset, parent_kind: str | None) -> None:
    if asset.kind not in ASSET_KINDS:
        raise PackageError(
            ASSETS, f"asset {asset.id}: kind must be one of {', '.join(ASSET_KINDS)}", "BAD_CONTENT"
        )
    if parent_kind not in PARENT_KINDS[asset.kind]:
        raise PackageError(
            ASSETS,
            f"asset {asset.id}: a {asset.kind} cannot sit under {parent_kind or 'the root'}",
            "BAD_CONTENT",
        )


def parse_series(rows: list[dict[str, Any]], assets: list[Asset]) -> list[Series]:
    machines = {a.id for a in assets if a.kind == "machine"}
    found = []
    for r in rows:
        try:
            s = Series(
                uuid.UUID(r["id"]), uuid.UUID(r["machine_id"]), r["name"], str(r.get("unit", "")),
                r["kind"], int(r.get("decimals", 0)),
            )  # fmt: skip
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            raise PackageError(SERIES, f"malformed series ({exc!r})", "BAD_CONTENT") from None
        if s.machine_id not in machines:
            raise PackageError(SERIES, f"series {s.id}: its machine is not in assets.json", "BAD_CONTENT")
        if s.kind not in SERIES_KINDS or not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", str(s.name)):
            raise PackageError(SERIES, f"series {s.id}: bad kind or name", "BAD_CONTENT")
        found.append(s)
    return found
