"""Editing the asset tree (ISA-95: site → area → line → machine) and the series of its machines: a tenant's
owners and admins add, rename, move and delete nodes and series. Tenancy keeps the levels in order (a
machine sits under a line, a line under a site or an area), refuses to delete a node that still holds
something, and answers another tenant's ids as it answers ids that do not exist: NOT_FOUND."""

from __future__ import annotations

import enum

import strawberry
from strawberry.types import Info

from gateway.graphql.assets import Asset, Series
from gateway.graphql.payloads import DeletePayload, UserError, attempt, user_errors
from gateway.graphql.permissions import CanConfigureTenant
from services.runtime import errors
from sfcloud.v1 import tenancy_pb2 as pb


@strawberry.enum(description="A level of the asset tree (ISA-95).")
class AssetKind(enum.Enum):
    SITE = pb.ASSET_KIND_SITE
    AREA = pb.ASSET_KIND_AREA
    LINE = pb.ASSET_KIND_LINE
    MACHINE = pb.ASSET_KIND_MACHINE


@strawberry.enum(description="What a series' values mean.")
class SeriesKind(enum.Enum):
    GAUGE = "gauge"
    COUNTER = "counter"
    STATE = "state"


@strawberry.input(description="A new series (a sensor tag) of a machine.")
class CreateSeriesInput:
    machine_id: strawberry.ID = strawberry.field(description="The machine the sensor is on.")
    name: str = strawberry.field(
        description="The tag, unique within the machine: lower case, digits and underscores, e.g. spindle_temp."
    )
    kind: SeriesKind
    unit: str = strawberry.field(
        default="", description="Unit of measure, e.g. degC (at most 32 characters); empty for states."
    )
    decimals: int = strawberry.field(
        default=0,
        description="Decimal digits the sensor resolves (a display hint); 0 or more, at most 12 kept.",
    )


@strawberry.type(description="A node of the asset tree after a change, or why it was refused.")
class AssetPayload:
    asset: Asset | None = strawberry.field(description="Null when it was refused.")
    errors: list[UserError] = strawberry.field(
        description="Empty when done; e.g. INVALID_ARGUMENT (a name, or a kind that cannot sit under the"
        " parent), PARENT_NOT_FOUND, ASSET_NOT_FOUND, DUPLICATE_NAME."
    )


@strawberry.type(description="A new series, or why it was refused.")
class SeriesPayload:
    series: Series | None = strawberry.field(description="Null when it was refused.")
    errors: list[UserError] = strawberry.field(
        description="Empty when done; e.g. INVALID_ARGUMENT, MACHINE_NOT_FOUND, DUPLICATE_NAME, QUOTA_EXCEEDED."
    )


async def _call(info: Info, method: str, request, **kwargs):
    ctx = info.context
    call = ctx.backends.call(getattr(ctx.backends.tenancy, method), request, ctx.principal)
    return await attempt(call, **kwargs)


@strawberry.type
class AssetTreeMutation:
    @strawberry.mutation(
        permission_classes=[CanConfigureTenant],
        description="Add a node to your asset tree (owners and admins): a site at the root (no parent), an area"
        " under a site, a line under a site or an area, a machine under a line.",
    )
    async def create_asset(
        self, info: Info, kind: AssetKind, name: str, parent_id: strawberry.ID | None = None
    ) -> AssetPayload:
        request = pb.CreateAssetRequest(parent_id=parent_id or "", kind=kind.value, name=name)
        done, problems = await _call(info, "CreateAsset", request)
        return AssetPayload(asset=Asset.from_pb(done.asset) if done else None, errors=problems)

    @strawberry.mutation(
        permission_classes=[CanConfigureTenant],
        description="Rename a node and/or move it under another parent of the right level (owners and"
        " admins); what is left out stays. Its series and history move with it.",
    )
    async def update_asset(
        self,
        info: Info,
        id: strawberry.ID,
        name: str | None = None,
        parent_id: strawberry.ID | None = None,
    ) -> AssetPayload:
        if name is not None and not name.strip():  # the service reads an empty name as "keep it"
            problem = errors.InvalidArgument.of("name", "must not be empty; leave it out to keep the name")
            return AssetPayload(asset=None, errors=user_errors(problem))
        request = pb.UpdateAssetRequest(asset_id=str(id), name=name or "", parent_id=parent_id or "")
        done, problems = await _call(info, "UpdateAsset", request)
        return AssetPayload(asset=Asset.from_pb(done.asset) if done else None, errors=problems)

    @strawberry.mutation(
        permission_classes=[CanConfigureTenant],
        description="Delete an empty node of your asset tree (owners and admins); one that still has children"
        " or series is refused with ASSET_NOT_EMPTY: move or delete them first.",
    )
    async def delete_asset(self, info: Info, id: strawberry.ID) -> DeletePayload:
        done, problems = await _call(info, "DeleteAsset", pb.DeleteAssetRequest(asset_id=str(id)))
        return DeletePayload(deleted=done is not None, errors=problems)

    @strawberry.mutation(
        permission_classes=[CanConfigureTenant],
        description="Add a series (a sensor tag) to one of your machines (owners and admins; within the"
        " plan's number of series). Devices send to it by its id.",
    )
    async def create_series(self, info: Info, input: CreateSeriesInput) -> SeriesPayload:
        if input.decimals < 0:  # the service's field is unsigned
            problem = errors.InvalidArgument.of("decimals", "must be 0 or more")
            return SeriesPayload(series=None, errors=user_errors(problem))
        request = pb.CreateSeriesRequest(
            machine_id=str(input.machine_id),
            name=input.name,
            unit=input.unit,
            kind=input.kind.value,
            decimals=input.decimals,
        )
        done, problems = await _call(info, "CreateSeries", request, also=(errors.ResourceExhausted,))
        return SeriesPayload(series=Series.from_pb(done.series) if done else None, errors=problems)

    @strawberry.mutation(
        permission_classes=[CanConfigureTenant],
        description="Delete a series from your catalog (owners and admins): ingest refuses points for it"
        " within a minute (UNKNOWN_SERIES); its stored points go with the plan's retention.",
    )
    async def delete_series(self, info: Info, id: strawberry.ID) -> DeletePayload:
        done, problems = await _call(info, "DeleteSeries", pb.DeleteSeriesRequest(series_id=str(id)))
        return DeletePayload(deleted=done is not None, errors=problems)
