"""The asset tree (ISA-95: site → area → line → machine) and the series of each machine."""

from __future__ import annotations

import re
import uuid
from dataclasses import replace

from services.runtime import keyset
from services.runtime.errors import FailedPrecondition, InvalidArgument, NotFound
from services.runtime.principal import Principal
from services.runtime.transactions import Transactions
from services.runtime.validation import parse_id, require_name
from services.tenancy import audit
from services.tenancy.errors import UnknownParent
from services.tenancy.models import ASSET_KINDS, MANAGERS, PARENT_KINDS, SERIES_KINDS, Asset, Series
from services.tenancy.organisations import check_quota
from services.tenancy.storage import assets as storage

MAX_PAGE = 200  # assets a page of the tree holds


class AssetCatalog:
    def __init__(self, db: Transactions) -> None:
        self._db = db

    async def create_asset(self, caller: Principal, parent_id: str, kind: str, name: str) -> Asset:
        tenant_id = caller.require_role(*MANAGERS)
        if kind not in ASSET_KINDS:
            raise InvalidArgument.of("kind", f"must be one of {', '.join(ASSET_KINDS)}")
        parent = parse_id("parent_id", parent_id) if parent_id else None
        asset = Asset(uuid.uuid4(), parent, kind, require_name("name", name))
        async with self._db.tenant(tenant_id) as conn:
            parent_kind = await self._parent_kind(conn, parent)
            if parent_kind not in PARENT_KINDS[kind]:
                raise InvalidArgument.of(
                    "parent_id", f"a {kind} cannot sit under {parent_kind or 'the root'}"
                )
            await storage.insert_asset(conn, tenant_id, asset)
            await audit.record(conn, caller, "asset.create", target=str(asset.id), detail={"kind": kind})
        return asset

    @staticmethod
    async def _parent_kind(conn, parent: uuid.UUID | None) -> str | None:
        if parent is None:
            return None
        found = await storage.get_asset(conn, parent)
        if found is None:
            raise UnknownParent("parent asset not found")
        return found.kind

    async def create_series(
        self, caller: Principal, machine_id: str, name: str, unit: str, kind: str, decimals: int
    ) -> Series:
        tenant_id = caller.require_role(*MANAGERS)
        if kind not in SERIES_KINDS:
            raise InvalidArgument.of("kind", f"must be one of {', '.join(SERIES_KINDS)}")
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", name):
            raise InvalidArgument.of("name", "must be a lower-case tag like spindle_temp")
        machine = parse_id("machine_id", machine_id)
        series = Series(uuid.uuid4(), machine, name, unit[:32], kind, min(decimals, 12))
        async with self._db.tenant(tenant_id) as conn:
            found = await storage.get_asset(conn, machine)
            if found is None or found.kind != "machine":
                raise NotFound("machine not found", reason="MACHINE_NOT_FOUND")
            await check_quota(conn, tenant_id, "series")
            await storage.insert_series(conn, tenant_id, series)
            await audit.record(conn, caller, "series.create", target=str(series.id))
        return series

    async def update_asset(self, caller: Principal, asset_id: str, name: str, parent_id: str) -> Asset:
        tenant_id = caller.require_role(*MANAGERS)
        target = parse_id("asset_id", asset_id)
        async with self._db.tenant(tenant_id) as conn:
            asset = await storage.get_asset(conn, target)
            if asset is None:
                raise NotFound("asset not found", reason="ASSET_NOT_FOUND")
            parent = parse_id("parent_id", parent_id) if parent_id else asset.parent_id
            if parent != asset.parent_id:
                await self._check_move(conn, asset, parent)
            updated = replace(
                asset, name=require_name("name", name) if name else asset.name, parent_id=parent
            )
            await storage.update_asset(conn, updated)
            await audit.record(
                conn,
                caller,
                "asset.update",
                target=str(target),
                detail={"name": updated.name, "parent": str(parent or "")},
            )
        return updated

    async def _check_move(self, conn, asset: Asset, parent: uuid.UUID | None) -> None:
        parent_kind = await self._parent_kind(conn, parent)
        if parent_kind not in PARENT_KINDS[asset.kind]:
            raise InvalidArgument.of(
                "parent_id", f"a {asset.kind} cannot sit under {parent_kind or 'the root'}"
            )
        if parent is not None and await storage.is_ancestor(conn, asset.id, parent):
            raise InvalidArgument.of("parent_id", "an asset cannot move under itself")

    async def delete_asset(self, caller: Principal, asset_id: str) -> None:
        """Only an empty node goes: children and series are moved or deleted first, deliberately."""
        tenant_id = caller.require_role(*MANAGERS)
        target = parse_id("asset_id", asset_id)
        async with self._db.tenant(tenant_id) as conn:
            if await storage.get_asset(conn, target) is None:
                raise NotFound("asset not found", reason="ASSET_NOT_FOUND")
            children, series = await storage.contents(conn, target)
            if children or series:
                raise FailedPrecondition(
                    f"the asset still has {children} children and {series} series; move or delete them first",
                    reason="ASSET_NOT_EMPTY",
                )
            await storage.delete_asset(conn, target)
            await audit.record(conn, caller, "asset.delete", target=str(target))

    async def delete_series(self, caller: Principal, series_id: str) -> None:
        tenant_id = caller.require_role(*MANAGERS)
        target = parse_id("series_id", series_id)
        async with self._db.tenant(tenant_id) as conn:
            if not await storage.delete_series(conn, target):
                raise NotFound("series not found", reason="SERIES_NOT_FOUND")
            await audit.record(conn, caller, "series.delete", target=str(target))

    async def list_assets(
        self, caller: Principal, page_size: int, page_token: str
    ) -> tuple[list[Asset], str]:
        """A page of the tree in tree order and the next page's token; a size of 0 is the whole tree."""
        after = keyset.key_after(page_token, int, str, uuid.UUID)
        size = keyset.page_size(page_size, MAX_PAGE, MAX_PAGE) if page_size else None
        async with self._db.tenant(caller.require_tenant()) as conn:
            found = await storage.list_assets(conn, after, size + 1 if size else None)
        return keyset.cut(found, size, storage.tree_key) if size else (found, "")

    async def list_series(
        self, caller: Principal, machine_ids: list[str], series_ids: list[str]
    ) -> list[Series]:
        machines = [parse_id("machine_ids", m) for m in machine_ids]
        series = [parse_id("series_ids", s) for s in series_ids]
        async with self._db.tenant(caller.require_tenant()) as conn:
            return await storage.list_series(conn, machines, series)
