"""The asset tree and series catalog (ISA-95: site → area → line → machine → series)."""

from __future__ import annotations

import math

import strawberry
from strawberry.types import Info

from gateway.graphql.paging import After, PageInfo, checked_first, page_info_from
from gateway.graphql.permissions import CanReadTenant, IsSignedIn
from gateway.graphql.scalars import Timestamp
from sfcloud.v1 import query_pb2, tenancy_pb2

_KINDS = {
    tenancy_pb2.ASSET_KIND_SITE: "site",
    tenancy_pb2.ASSET_KIND_AREA: "area",
    tenancy_pb2.ASSET_KIND_LINE: "line",
    tenancy_pb2.ASSET_KIND_MACHINE: "machine",
}


def finite(value: float) -> float | None:
    """JSON has no NaN or infinity: such values travel as null."""
    return value if math.isfinite(value) else None


@strawberry.type(description="The newest value of a series.")
class LiveValue:
    series_id: strawberry.ID = strawberry.field(description="The series this value belongs to.")
    timestamp: Timestamp = strawberry.field(description="When the value was measured.")
    value: float | None = strawberry.field(description="The value; null when not a finite number.")
    missed: int = strawberry.field(
        default=0,
        description="Live values only: how many values of the subscription were dropped just before this"
        " one because the connection read too slowly (at most 1,000 wait for a subscriber).",
    )

    @classmethod
    def from_pb(cls, v: query_pb2.LatestValue) -> LiveValue:
        return cls(series_id=strawberry.ID(v.series_id), timestamp=v.timestamp_ns, value=finite(v.value))


@strawberry.type(description="A sensor tag of a machine: one stream of timestamped values.")
class Series:
    id: strawberry.ID
    machine_id: strawberry.ID = strawberry.field(description="The machine this series belongs to.")
    name: str = strawberry.field(description="The tag, unique within its machine, e.g. spindle_temp.")
    unit: str = strawberry.field(description="Unit of measure, e.g. degC; empty for states and counts.")
    kind: str = strawberry.field(description="gauge, counter or state.")
    decimals: int = strawberry.field(description="Decimal digits the sensor resolves (a display hint).")

    @classmethod
    def from_pb(cls, s: tenancy_pb2.Series) -> Series:
        return cls(
            id=strawberry.ID(s.id),
            machine_id=strawberry.ID(s.machine_id),
            name=s.name,
            unit=s.unit,
            kind=s.kind,
            decimals=s.decimals,
        )

    prefetched: strawberry.Private[tuple[LiveValue | None] | None] = None  # (latest,) when loaded already

    @strawberry.field(description="The newest stored value, if any.")
    def latest(self, info: Info) -> LiveValue | None:
        """Prefetched with its machine's series when the query asks for it (`Machine.series`): a plain
        value then, so a dashboard of hundreds of series does not run hundreds of resolvers that wait."""
        if self.prefetched is not None:
            return self.prefetched[0]
        return self._load_latest(info)  # an awaitable, which graphql-core awaits

    async def _load_latest(self, info: Info) -> LiveValue | None:
        value = await info.context.tenant_loaders().latest.load(str(self.id))
        return LiveValue.from_pb(value) if value else None


@strawberry.type(description="A node of the asset tree.")
class Asset:
    id: strawberry.ID
    parent_id: strawberry.ID | None = strawberry.field(description="The parent node; null for a site.")
    kind: str = strawberry.field(description="site, area, line or machine.")
    name: str = strawberry.field(description="Unique among its siblings, e.g. Line 2.")

    @classmethod
    def from_pb(cls, a: tenancy_pb2.Asset) -> Asset:
        parent = strawberry.ID(a.parent_id) if a.parent_id else None
        return cls(id=strawberry.ID(a.id), parent_id=parent, kind=_KINDS[a.kind], name=a.name)


@strawberry.type(description="A machine with where it stands.")
class Machine:
    id: strawberry.ID
    name: str
    line: str = strawberry.field(description="The name of the line the machine is on.")
    site: str = strawberry.field(description="The name of the site the line belongs to.")

    @strawberry.field(description="The machine's series.")
    async def series(self, info: Info) -> list[Series]:
        loaders = info.context.tenant_loaders()
        series = [Series.from_pb(s) for s in await loaders.series_by_machine.load(str(self.id))]
        if asks_for(info.selected_fields, "latest"):  # every machine's in one LatestValues call
            values = await loaders.latest.load_many([str(s.id) for s in series])
            for one, value in zip(series, values, strict=True):
                one.prefetched = (LiveValue.from_pb(value) if value else None,)
        return series


def asks_for(selections, name: str) -> bool:
    """Whether the selection (fragments included) asks for a field ``name`` directly below it."""
    for selected in selections:
        for child in getattr(selected, "selections", ()):
            if getattr(child, "name", None) == name or (
                not hasattr(child, "arguments") and asks_for([child], name)  # a fragment: look inside
            ):
                return True
    return False


@strawberry.type(description="Who is calling: a signed-in user or an API key.")
class Viewer:
    kind: str = strawberry.field(description="user or api_key.")
    id: strawberry.ID = strawberry.field(description="The user's or the API key's id.")
    email: str | None = strawberry.field(description="The user's email; null for an API key.")
    display_name: str | None
    tenant_id: strawberry.ID | None = strawberry.field(description="The tenant the caller acts in, if any.")
    tenant_name: str | None
    role: str | None = strawberry.field(
        description="The user's role in the tenant: owner, admin, operator or viewer."
    )
    scopes: list[str] = strawberry.field(description="An API key's scopes: read, write, ingest.")
    supplier_id: strawberry.ID | None = strawberry.field(
        description="The supplier a supplier's staff member acts for."
    )
    platform_operator: bool


def viewer_of(caller) -> Viewer:
    principal, session = caller.principal, caller.session
    return Viewer(
        kind=principal.kind.value,
        id=strawberry.ID(principal.subject),
        email=session.email if session else None,
        display_name=session.display_name if session else None,
        tenant_id=strawberry.ID(str(principal.tenant_id)) if principal.tenant_id else None,
        tenant_name=session.tenant_name if session else None,
        role=principal.role.value if principal.role else None,
        scopes=sorted(principal.scopes),
        supplier_id=strawberry.ID(str(principal.supplier_id)) if principal.supplier_id else None,
        platform_operator=principal.platform_operator,
    )


def machines_of(assets: list[tenancy_pb2.Asset]) -> list[Machine]:
    """Machines with their line and site names (assets arrive parents first)."""
    by_id = {a.id: a for a in assets}

    def ancestor(asset: tenancy_pb2.Asset, kind: int) -> str:
        while asset.parent_id and asset.kind != kind:
            asset = by_id[asset.parent_id]
        return asset.name if asset.kind == kind else ""

    return [
        Machine(
            id=strawberry.ID(a.id),
            name=a.name,
            line=ancestor(a, tenancy_pb2.ASSET_KIND_LINE),
            site=ancestor(a, tenancy_pb2.ASSET_KIND_SITE),
        )
        for a in assets
        if a.kind == tenancy_pb2.ASSET_KIND_MACHINE
    ]


@strawberry.type(description="A page of the asset tree, parents first.")
class AssetConnection:
    nodes: list[Asset]
    page_info: PageInfo


@strawberry.type
class AssetQuery:
    @strawberry.field(permission_classes=[IsSignedIn], description="Who is signed in, and in which tenant.")
    def me(self, info: Info) -> Viewer:
        return viewer_of(info.context.caller)

    @strawberry.field(
        permission_classes=[IsSignedIn, CanReadTenant],
        description="The asset tree, parents first.",
        deprecation_reason="Use assetsConnection: a cursor connection.",
    )
    async def assets(self, info: Info) -> list[Asset]:
        return [Asset.from_pb(a) for a in await _assets(info)]

    @strawberry.field(
        permission_classes=[IsSignedIn, CanReadTenant],
        description="The asset tree a page at a time, parents first: sites, then areas, lines and machines,"
        " each by name.",
    )
    async def assets_connection(self, info: Info, first: int = 50, after: After = None) -> AssetConnection:
        ctx = info.context
        request = tenancy_pb2.ListAssetsRequest(page_size=checked_first(first), page_token=after or "")
        found = await ctx.backends.call(ctx.backends.tenancy.ListAssets, request, ctx.principal)
        return AssetConnection(
            nodes=[Asset.from_pb(a) for a in found.assets], page_info=page_info_from(found.next_page_token)
        )

    @strawberry.field(
        permission_classes=[IsSignedIn, CanReadTenant], description="Every machine of the tenant."
    )
    async def machines(self, info: Info) -> list[Machine]:
        return machines_of(await _assets(info))

    @strawberry.field(
        permission_classes=[IsSignedIn, CanReadTenant], description="Series by id; unknown ids are left out."
    )
    async def series(self, info: Info, ids: list[strawberry.ID]) -> list[Series]:
        found = await info.context.tenant_loaders().series_by_id.load_many([str(i) for i in ids])
        return [Series.from_pb(s) for s in found if s is not None]


async def _assets(info: Info) -> list[tenancy_pb2.Asset]:
    ctx = info.context
    response = await ctx.backends.call(
        ctx.backends.tenancy.ListAssets, tenancy_pb2.ListAssetsRequest(), ctx.principal
    )
    return list(response.assets)
