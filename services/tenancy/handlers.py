"""gRPC ⇄ domain translation for TenancyService; the rules live in `service.py`."""

from __future__ import annotations

from services.runtime.errors import InvalidArgument
from services.runtime.principal import Role, current_principal
from services.tenancy import models
from services.tenancy.service import TenancyService
from sfcloud.v1 import tenancy_pb2 as pb
from sfcloud.v1 import tenancy_pb2_grpc

_ROLES = {
    pb.ROLE_OWNER: Role.OWNER,
    pb.ROLE_ADMIN: Role.ADMIN,
    pb.ROLE_OPERATOR: Role.OPERATOR,
    pb.ROLE_VIEWER: Role.VIEWER,
}
_ROLE_PB = {role: number for number, role in _ROLES.items()}
_KINDS = {
    pb.ASSET_KIND_SITE: "site",
    pb.ASSET_KIND_AREA: "area",
    pb.ASSET_KIND_LINE: "line",
    pb.ASSET_KIND_MACHINE: "machine",
}
_KIND_PB = {kind: number for number, kind in _KINDS.items()}


def tenant_pb(tenant: models.Tenant) -> pb.Tenant:
    return pb.Tenant(id=str(tenant.id), name=tenant.name, plan_code=tenant.plan_code)


def user_pb(user: models.User) -> pb.User:
    return pb.User(
        id=str(user.id),
        email=user.email,
        display_name=user.display_name,
        platform_operator=user.platform_operator,
    )


def asset_pb(asset: models.Asset) -> pb.Asset:
    parent = str(asset.parent_id) if asset.parent_id else ""
    return pb.Asset(id=str(asset.id), parent_id=parent, kind=_KIND_PB[asset.kind], name=asset.name)


def series_pb(series: models.Series) -> pb.Series:
    return pb.Series(
        id=str(series.id),
        machine_id=str(series.machine_id),
        name=series.name,
        unit=series.unit,
        kind=series.kind,
        decimals=series.decimals,
    )


class TenancyHandlers(tenancy_pb2_grpc.TenancyServiceServicer):
    def __init__(self, service: TenancyService) -> None:
        self._service = service

    async def Login(self, request: pb.LoginRequest, context) -> pb.LoginResponse:
        user, memberships = await self._service.login(current_principal(), request.email, request.password)
        return pb.LoginResponse(
            user=user_pb(user),
            memberships=[
                pb.Membership(tenant=tenant_pb(m.tenant), role=_ROLE_PB[m.role]) for m in memberships
            ],
        )

    async def AuthenticateDevice(self, request, context) -> pb.AuthenticateDeviceResponse:
        identity = await self._service.authenticate_device(current_principal(), request.credential)
        return pb.AuthenticateDeviceResponse(
            tenant_id=str(identity.tenant_id), device_id=str(identity.device_id)
        )

    async def CreateTenant(self, request, context) -> pb.CreateTenantResponse:
        tenant = await self._service.create_tenant(current_principal(), request.name, request.plan_code)
        return pb.CreateTenantResponse(tenant=tenant_pb(tenant))

    async def CreateUser(self, request, context) -> pb.CreateUserResponse:
        if request.role not in _ROLES:
            raise InvalidArgument.of("role", "must be owner, admin, operator or viewer")
        user = await self._service.create_user(
            current_principal(), request.email, request.password, request.display_name, _ROLES[request.role]
        )
        return pb.CreateUserResponse(user=user_pb(user))

    async def CreateAsset(self, request, context) -> pb.CreateAssetResponse:
        kind = _KINDS.get(request.kind, "")
        asset = await self._service.create_asset(current_principal(), request.parent_id, kind, request.name)
        return pb.CreateAssetResponse(asset=asset_pb(asset))

    async def CreateSeries(self, request, context) -> pb.CreateSeriesResponse:
        series = await self._service.create_series(
            current_principal(),
            request.machine_id,
            request.name,
            request.unit,
            request.kind,
            request.decimals,
        )
        return pb.CreateSeriesResponse(series=series_pb(series))

    async def CreateDevice(self, request, context) -> pb.CreateDeviceResponse:
        device, credential = await self._service.create_device(current_principal(), request.name)
        return pb.CreateDeviceResponse(
            device=pb.Device(id=str(device.id), name=device.name), credential=credential
        )

    async def ListAssets(self, request, context) -> pb.ListAssetsResponse:
        assets = await self._service.list_assets(current_principal())
        return pb.ListAssetsResponse(assets=[asset_pb(a) for a in assets])

    async def ListSeries(self, request, context) -> pb.ListSeriesResponse:
        series = await self._service.list_series(
            current_principal(), list(request.machine_ids), list(request.series_ids)
        )
        return pb.ListSeriesResponse(series=[series_pb(s) for s in series])
