"""gRPC ⇄ domain translation for TenancyService; the rules live in the domain modules."""

from __future__ import annotations

import json
from datetime import datetime

from services.runtime.errors import InvalidArgument
from services.runtime.principal import Role, current_principal
from services.tenancy import models
from services.tenancy.access import Access
from services.tenancy.assets import AssetCatalog
from services.tenancy.audit import AuditLog
from services.tenancy.brand_models import Brand
from services.tenancy.brands import BrandChange, Brands
from services.tenancy.invitations import Invitations
from services.tenancy.organisations import Organisations, Owner
from services.tenancy.recovery import Recovery
from services.tenancy.retention import RetentionMail, RetentionNotice
from services.tenancy.staff import SupplierStaff
from services.tenancy.support_models import Transfer
from services.tenancy.transfers import Transfers
from services.tenancy.usage import Metering
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
_STATES = {
    pb.SUBSCRIPTION_STATE_TRIAL: "trial",
    pb.SUBSCRIPTION_STATE_ACTIVE: "active",
    pb.SUBSCRIPTION_STATE_PAST_DUE: "past_due",
    pb.SUBSCRIPTION_STATE_SUSPENDED: "suspended",
    pb.SUBSCRIPTION_STATE_CANCELLED: "cancelled",
}
STATE_PB = {state: number for number, state in _STATES.items()}


def ns(moment: datetime | None) -> int:
    return int(moment.timestamp() * 1e9) if moment else 0


_TRANSFER_STATES = {
    "requested": pb.TRANSFER_STATE_REQUESTED,
    "accepted": pb.TRANSFER_STATE_ACCEPTED,
    "declined": pb.TRANSFER_STATE_DECLINED,
}


def transfer_pb(t: Transfer) -> pb.SupplierTransfer:
    return pb.SupplierTransfer(
        id=str(t.id),
        tenant_id=str(t.tenant_id),
        tenant_name=t.tenant_name,
        from_supplier_id=str(t.from_supplier or ""),
        to_supplier_id=str(t.to_supplier),
        to_supplier_name=t.to_supplier_name,
        message=t.message,
        state=_TRANSFER_STATES[t.state],
        requested_ns=ns(t.requested_at),
        decided_ns=ns(t.accepted_at or t.declined_at),
        decision_note=t.decision_note,
    )


def open_invitation(row: tuple) -> dict:
    """The fields of an open invitation's message, into a tenant or onto a supplier's staff (a tenant's maps
    the role to its enum)."""
    invitation_id, email, role, invited_by, created, expires = row
    return {
        "id": str(invitation_id),
        "email": email,
        "role": role,
        "invited_by": invited_by,
        "created_ns": ns(created),
        "expires_ns": ns(expires),
    }


def tenant_pb(tenant: models.Tenant) -> pb.Tenant:
    return pb.Tenant(
        id=str(tenant.id),
        name=tenant.name,
        plan_code=tenant.plan_code,
        supplier_id=str(tenant.supplier_id or ""),
        state=STATE_PB[tenant.state],
        template=tenant.template or "",
        cell=tenant.cell,
    )


def supplier_pb(s: models.Supplier) -> pb.Supplier:
    return pb.Supplier(
        id=str(s.id),
        slug=s.slug,
        name=s.name,
        description=s.description,
        website=s.website,
        contact_email=s.contact_email,
    )


def brand_pb(brand: Brand | None) -> pb.Brand | None:
    if brand is None:
        return None
    return pb.Brand(
        supplier_id=str(brand.supplier_id),
        product_name=brand.product_name,
        primary_colour=brand.primary_colour,
        accent_colour=brand.accent_colour,
        domain=brand.domain or "",
        logo=brand.logo or b"",
        logo_type=brand.logo_type or "",
        updated_at_ns=ns(brand.updated_at),
    )


def user_pb(user: models.User) -> pb.User:
    return pb.User(
        id=str(user.id),
        email=user.email,
        display_name=user.display_name,
        platform_operator=user.platform_operator,
    )


def asset_pb(asset: models.Asset) -> pb.Asset:
    parent = str(asset.parent_id) if asset.parent_id else ""
    return pb.Asset(
        id=str(asset.id),
        parent_id=parent,
        kind=_KIND_PB[asset.kind],
        name=asset.name,
        machine_type=asset.machine_type or "",
        ideal_cycle_s=asset.ideal_cycle_s or 0.0,
    )


def series_pb(s: models.Series) -> pb.Series:
    return pb.Series(
        id=str(s.id), machine_id=str(s.machine_id), name=s.name, unit=s.unit, kind=s.kind, decimals=s.decimals
    )


def api_key_pb(k: models.ApiKey) -> pb.ApiKey:
    return pb.ApiKey(
        id=str(k.id),
        name=k.name,
        prefix=k.prefix,
        scopes=list(k.scopes),
        created_ns=ns(k.created_at),
        expires_ns=ns(k.expires_at),
        last_used_ns=ns(k.last_used_at),
        revoked=k.revoked_at is not None,
    )


def event_pb(e: models.AuditEvent) -> pb.AuditEvent:
    return pb.AuditEvent(
        id=e.id,
        tenant_id=str(e.tenant_id or ""),
        at_ns=ns(e.at),
        actor_kind=e.actor_kind,
        actor_id=e.actor_id,
        action=e.action,
        target=e.target,
        outcome=e.outcome,
        source=e.source,
        detail_json=json.dumps(e.detail),
    )


class TenancyHandlers(tenancy_pb2_grpc.TenancyServiceServicer):
    def __init__(
        self,
        organisations: Organisations,
        access: Access,
        assets: AssetCatalog,
        audit_log: AuditLog,
        invitations: Invitations,
        recovery: Recovery,
        transfers: Transfers,
        metering: Metering,
        retention: RetentionMail,
        brands: Brands,
        staff: SupplierStaff,
    ) -> None:
        self._orgs = organisations
        self._access = access
        self._assets = assets
        self._audit = audit_log
        self._invitations = invitations
        self._recovery = recovery
        self._transfers = transfers
        self._metering = metering
        self._retention = retention
        self._brands = brands
        self._staff = staff

    async def Login(self, request, context) -> pb.LoginResponse:
        user, memberships, suppliers = await self._access.login(
            current_principal(), request.email, request.password
        )
        return pb.LoginResponse(
            user=user_pb(user),
            memberships=[
                pb.Membership(tenant=tenant_pb(m.tenant), role=_ROLE_PB[m.role]) for m in memberships
            ],
            supplier_memberships=[
                pb.SupplierMembership(supplier=supplier_pb(s), role=r) for s, r in suppliers
            ],
        )

    async def AuthenticateDevice(self, request, context) -> pb.AuthenticateDeviceResponse:
        identity = await self._access.authenticate_device(current_principal(), request.credential)
        return pb.AuthenticateDeviceResponse(
            tenant_id=str(identity.tenant_id),
            device_id=str(identity.device_id),
            state=STATE_PB[identity.state],
            cell=identity.cell,
            points_per_second=identity.points_per_second,
        )

    async def AuthenticateApiKey(self, request, context) -> pb.AuthenticateApiKeyResponse:
        principal = await self._access.authenticate_api_key(
            current_principal(), request.key, recheck=request.recheck
        )
        return pb.AuthenticateApiKeyResponse(
            tenant_id=str(principal.tenant_id),
            key_id=principal.subject,
            scopes=sorted(principal.scopes),
            cell=principal.cell,
        )

    async def CreateSupplier(self, request, context) -> pb.CreateSupplierResponse:
        profile = {
            "description": request.description,
            "website": request.website,
            "contact_email": request.contact_email,
        }
        supplier = await self._orgs.create_supplier(current_principal(), request.name, profile)
        return pb.CreateSupplierResponse(supplier=supplier_pb(supplier))

    async def CreateSupplierUser(self, request, context) -> pb.CreateSupplierUserResponse:
        user = await self._orgs.create_supplier_user(
            current_principal(),
            request.supplier_id,
            request.email,
            request.password,
            request.display_name,
            request.role,
        )
        return pb.CreateSupplierUserResponse(user=user_pb(user))

    async def InviteSupplierUser(self, request, context) -> pb.InviteSupplierUserResponse:
        invitation = await self._invitations.invite_staff(
            current_principal(), request.supplier_id, request.email, request.role
        )
        return pb.InviteSupplierUserResponse(invitation_id=str(invitation))

    async def ListSupplierStaff(self, request, context) -> pb.ListSupplierStaffResponse:
        found, token = await self._staff.members(
            current_principal(), request.supplier_id, request.page_size, request.page_token
        )
        return pb.ListSupplierStaffResponse(
            staff=[
                pb.SupplierStaffMember(user_id=str(u), email=email, display_name=name, role=role)
                for u, email, name, role in found
            ],
            next_page_token=token,
        )

    async def ListSupplierInvitations(self, request, context) -> pb.ListSupplierInvitationsResponse:
        found = await self._staff.invitations(current_principal(), request.supplier_id)
        return pb.ListSupplierInvitationsResponse(
            invitations=[pb.SupplierInvitation(**open_invitation(row)) for row in found]
        )

    async def FindBrandByDomain(self, request, context) -> pb.FindBrandByDomainResponse:
        brand = await self._brands.for_domain(current_principal(), request.domain)
        return pb.FindBrandByDomainResponse(brand=brand_pb(brand))

    async def GetBrand(self, request, context) -> pb.GetBrandResponse:
        return pb.GetBrandResponse(brand=brand_pb(await self._brands.for_caller(current_principal())))

    async def SetBrand(self, request, context) -> pb.SetBrandResponse:
        change = BrandChange(
            request.product_name,
            request.primary_colour,
            request.accent_colour,
            request.domain,
            request.logo,
            request.logo_type,
            request.remove_logo,
        )
        return pb.SetBrandResponse(brand=brand_pb(await self._brands.set(current_principal(), change)))

    async def CreateTenant(self, request, context) -> pb.CreateTenantResponse:
        owner = Owner(request.owner_email, request.owner_name) if request.owner_email.strip() else None
        tenant, invitation = await self._orgs.create_tenant(
            current_principal(),
            request.name,
            request.plan_code,
            request.supplier_id,
            request.trial,
            request.template,
            request.cell,
            owner,
        )
        return pb.CreateTenantResponse(tenant=tenant_pb(tenant), invitation_id=str(invitation or ""))

    async def ListTenants(self, request, context) -> pb.ListTenantsResponse:
        tenants, token = await self._orgs.list_tenants(
            current_principal(), request.page_size, request.page_token
        )
        return pb.ListTenantsResponse(tenants=[tenant_pb(t) for t in tenants], next_page_token=token)

    async def ListMembers(self, request, context) -> pb.ListMembersResponse:
        found, token = await self._access.members(current_principal(), request.page_size, request.page_token)
        return pb.ListMembersResponse(
            members=[
                pb.Member(user_id=str(u), email=email, display_name=name, role=_ROLE_PB[role])
                for u, email, name, role in found
            ],
            next_page_token=token,
        )

    async def ListPlans(self, request, context) -> pb.ListPlansResponse:
        return pb.ListPlansResponse(
            plans=[
                pb.Plan(
                    code=p.code,
                    name=p.name,
                    price_krw_month=p.price_krw_month,
                    quotas=p.quotas,
                    features=p.features,
                )
                for p in self._orgs.plans(current_principal())
            ]
        )

    async def GetTenant(self, request, context) -> pb.GetTenantResponse:
        return pb.GetTenantResponse(
            tenant=tenant_pb(await self._orgs.get_tenant(current_principal(), request.tenant_id))
        )

    async def ChangePlan(self, request, context) -> pb.ChangePlanResponse:
        tenant = await self._orgs.change_plan(current_principal(), request.tenant_id, request.plan_code)
        return pb.ChangePlanResponse(tenant=tenant_pb(tenant))

    async def SetSubscriptionState(self, request, context) -> pb.SetSubscriptionStateResponse:
        state = _STATES.get(request.state, "")
        tenant = await self._orgs.set_state(current_principal(), request.tenant_id, state, request.reason)
        return pb.SetSubscriptionStateResponse(tenant=tenant_pb(tenant))

    async def RequestSupplierTransfer(self, request, context) -> pb.RequestSupplierTransferResponse:
        transfer = await self._transfers.request(current_principal(), request.to_supplier_id, request.message)
        return pb.RequestSupplierTransferResponse(transfer_id=str(transfer))

    async def AcceptSupplierTransfer(self, request, context) -> pb.AcceptSupplierTransferResponse:
        tenant_id = await self._transfers.accept(current_principal(), request.transfer_id)
        return pb.AcceptSupplierTransferResponse(tenant_id=str(tenant_id))

    async def DeclineSupplierTransfer(self, request, context) -> pb.DeclineSupplierTransferResponse:
        await self._transfers.decline(current_principal(), request.transfer_id, request.note)
        return pb.DeclineSupplierTransferResponse()

    async def ListSupplierTransfers(self, request, context) -> pb.ListSupplierTransfersResponse:
        found, token = await self._transfers.list(current_principal(), request.page_size, request.page_token)
        return pb.ListSupplierTransfersResponse(
            transfers=[transfer_pb(t) for t in found], next_page_token=token
        )

    async def CreateUser(self, request, context) -> pb.CreateUserResponse:
        if request.role not in _ROLES:
            raise InvalidArgument.of("role", "must be owner, admin, operator or viewer")
        user = await self._access.create_user(
            current_principal(),
            request.tenant_id,
            request.email,
            request.password,
            request.display_name,
            _ROLES[request.role],
        )
        return pb.CreateUserResponse(user=user_pb(user))

    async def InviteUser(self, request, context) -> pb.InviteUserResponse:
        if request.role not in _ROLES:
            raise InvalidArgument.of("role", "must be owner, admin, operator or viewer")
        invitation = await self._invitations.invite(current_principal(), request.email, _ROLES[request.role])
        return pb.InviteUserResponse(invitation_id=str(invitation))

    async def ListInvitations(self, request, context) -> pb.ListInvitationsResponse:
        found = await self._invitations.pending(current_principal())
        return pb.ListInvitationsResponse(
            invitations=[pb.Invitation(**open_invitation(row) | {"role": _ROLE_PB[row[2]]}) for row in found]
        )

    async def AcceptInvitation(self, request, context) -> pb.AcceptInvitationResponse:
        user, joined = await self._invitations.accept(
            current_principal(), request.token, request.display_name, request.password
        )
        return pb.AcceptInvitationResponse(
            user=user_pb(user),
            tenant_id=str(joined.tenant_id or ""),
            supplier_id=str(joined.supplier_id or ""),
        )

    async def RequestPasswordReset(self, request, context) -> pb.RequestPasswordResetResponse:
        await self._recovery.request_reset(current_principal(), request.email)
        return pb.RequestPasswordResetResponse()

    async def ResetPassword(self, request, context) -> pb.ResetPasswordResponse:
        await self._recovery.reset_password(current_principal(), request.token, request.new_password)
        return pb.ResetPasswordResponse()

    async def CreateAsset(self, request, context) -> pb.CreateAssetResponse:
        kind = _KINDS.get(request.kind, "")
        asset = await self._assets.create_asset(current_principal(), request.parent_id, kind, request.name)
        return pb.CreateAssetResponse(asset=asset_pb(asset))

    async def CreateSeries(self, request, context) -> pb.CreateSeriesResponse:
        series = await self._assets.create_series(
            current_principal(),
            request.machine_id,
            request.name,
            request.unit,
            request.kind,
            request.decimals,
        )
        return pb.CreateSeriesResponse(series=series_pb(series))

    async def UpdateAsset(self, request, context) -> pb.UpdateAssetResponse:
        asset = await self._assets.update_asset(
            current_principal(), request.asset_id, request.name, request.parent_id
        )
        return pb.UpdateAssetResponse(asset=asset_pb(asset))

    async def DeleteAsset(self, request, context) -> pb.DeleteAssetResponse:
        await self._assets.delete_asset(current_principal(), request.asset_id)
        return pb.DeleteAssetResponse()

    async def DeleteSeries(self, request, context) -> pb.DeleteSeriesResponse:
        await self._assets.delete_series(current_principal(), request.series_id)
        return pb.DeleteSeriesResponse()

    async def CreateDevice(self, request, context) -> pb.CreateDeviceResponse:
        device, credential = await self._access.create_device(current_principal(), request.name)
        return pb.CreateDeviceResponse(
            device=pb.Device(id=str(device.id), name=device.name), credential=credential
        )

    async def RotateDeviceCredential(self, request, context) -> pb.RotateDeviceCredentialResponse:
        credential = await self._access.rotate_device(current_principal(), request.device_id)
        return pb.RotateDeviceCredentialResponse(credential=credential)

    async def ListDevices(self, request, context) -> pb.ListDevicesResponse:
        rows = await self._access.list_devices(current_principal())
        return pb.ListDevicesResponse(
            devices=[pb.DeviceRecord(id=str(i), name=n, created_ns=ns(c), revoked=r) for i, n, c, r in rows]
        )

    async def RevokeDevice(self, request, context) -> pb.RevokeDeviceResponse:
        await self._access.revoke_device(current_principal(), request.device_id)
        return pb.RevokeDeviceResponse()

    async def CreateApiKey(self, request, context) -> pb.CreateApiKeyResponse:
        key, secret = await self._access.create_api_key(
            current_principal(), request.name, list(request.scopes), request.expires_in_days
        )
        return pb.CreateApiKeyResponse(api_key=api_key_pb(key), key=secret)

    async def ListApiKeys(self, request, context) -> pb.ListApiKeysResponse:
        keys, token = await self._access.list_api_keys(
            current_principal(), request.page_size, request.page_token
        )
        return pb.ListApiKeysResponse(api_keys=[api_key_pb(k) for k in keys], next_page_token=token)

    async def RevokeApiKey(self, request, context) -> pb.RevokeApiKeyResponse:
        await self._access.revoke_api_key(current_principal(), request.key_id)
        return pb.RevokeApiKeyResponse()

    async def ListAssets(self, request, context) -> pb.ListAssetsResponse:
        assets, token = await self._assets.list_assets(
            current_principal(), request.page_size, request.page_token
        )
        return pb.ListAssetsResponse(assets=[asset_pb(a) for a in assets], next_page_token=token)

    async def ListSeries(self, request, context) -> pb.ListSeriesResponse:
        series = await self._assets.list_series(
            current_principal(), list(request.machine_ids), list(request.series_ids)
        )
        return pb.ListSeriesResponse(series=[series_pb(s) for s in series])

    async def RecordUsage(self, request, context) -> pb.RecordUsageResponse:
        await self._metering.record_usage(
            current_principal(), request.day, request.points, request.bytes_stored, request.active_devices
        )
        return pb.RecordUsageResponse()

    async def RecordApiCalls(self, request, context) -> pb.RecordApiCallsResponse:
        await self._metering.record_api_calls(current_principal(), request.day, request.calls)
        return pb.RecordApiCallsResponse()

    async def GetUsage(self, request, context) -> pb.GetUsageResponse:
        rows = await self._metering.usage(current_principal(), request.first_day, request.last_day)
        return pb.GetUsageResponse(
            days=[
                pb.DailyUsage(
                    tenant_id=str(t),
                    day=d.isoformat(),
                    points=p,
                    bytes_stored=b,
                    active_devices=a,
                    api_calls=c,
                )
                for t, d, p, b, a, c in rows
            ]
        )

    async def ExportBilling(self, request, context) -> pb.ExportBillingResponse:
        return pb.ExportBillingResponse(
            csv=await self._metering.billing_csv(current_principal(), request.month)
        )

    async def ListAuditEvents(self, request, context) -> pb.ListAuditEventsResponse:
        events, token = await self._audit.events(current_principal(), request.page_size, request.page_token)
        return pb.ListAuditEventsResponse(events=[event_pb(e) for e in events], next_page_token=token)

    async def RecordExport(self, request, context) -> pb.RecordExportResponse:
        await self._audit.record_export(current_principal(), request.export_id, request.requested_by)
        return pb.RecordExportResponse()

    async def NotifyRetention(self, request, context) -> pb.NotifyRetentionResponse:
        notice = RetentionNotice(
            request.notice_ns,
            request.deletes_before_ns,
            request.oldest_end_ns,
            request.retention_days,
            request.effective_ns,
        )
        recipients, already = await self._retention.notify(current_principal(), notice)
        return pb.NotifyRetentionResponse(recipients=recipients, already_sent=already)
