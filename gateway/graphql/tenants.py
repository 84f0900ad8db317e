"""The control plane a supplier (and a tenant's managers) runs through GraphQL: the plans on sale; the
tenants a supplier resells, paged with cursors; creating one from a plan and an industry template; changing its plan,
suspending and resuming it; a tenant's daily usage; its people, and inviting more; the audit log.

Tenancy decides who may do what (a supplier's staff see and run only the tenants they resell, a tenant's
owners and admins invite, the operator sees everything); mistakes in the input come back as typed user
errors in the payloads, refusals as GraphQL errors with codes.
"""

from __future__ import annotations

import enum
from datetime import date

import strawberry
from strawberry.types import Info

from gateway.graphql.paging import PageInfo, checked_first, most_first, page_info_from
from gateway.graphql.payloads import UserError, attempt
from gateway.graphql.permissions import (
    CanConfigureTenant,
    CanReadTenantRecord,
    IsPerson,
    IsSignedIn,
    IsSupplierStaffOrOperator,
    IsTenantUser,
)
from gateway.graphql.scalars import Timestamp
from gateway.graphql.telemetry import After
from services.runtime import errors
from sfcloud.v1 import tenancy_pb2 as pb


@strawberry.enum(description="Where a tenant's subscription stands.")
class SubscriptionState(enum.Enum):
    TRIAL = pb.SUBSCRIPTION_STATE_TRIAL
    ACTIVE = pb.SUBSCRIPTION_STATE_ACTIVE
    PAST_DUE = pb.SUBSCRIPTION_STATE_PAST_DUE
    SUSPENDED = pb.SUBSCRIPTION_STATE_SUSPENDED
    CANCELLED = pb.SUBSCRIPTION_STATE_CANCELLED


@strawberry.enum(description="A person's role in a tenant.")
class TenantRole(enum.Enum):
    OWNER = pb.ROLE_OWNER
    ADMIN = pb.ROLE_ADMIN
    OPERATOR = pb.ROLE_OPERATOR
    VIEWER = pb.ROLE_VIEWER


@strawberry.enum(description="A supplier's staff role: admins also manage its staff, brand and profile.")
class StaffRole(enum.Enum):
    ADMIN = "admin"
    STAFF = "staff"


@strawberry.type(description="A tenant: one SME's subscription.")
class Tenant:
    id: strawberry.ID
    name: str
    plan_code: str = strawberry.field(description="Its plan (tenants/plans.yaml).")
    supplier_id: strawberry.ID | None = strawberry.field(description="The supplier that resells it.")
    state: SubscriptionState
    template: str | None = strawberry.field(description="The industry template it started from.")

    @classmethod
    def from_pb(cls, t: pb.Tenant) -> Tenant:
        return cls(
            id=strawberry.ID(t.id),
            name=t.name,
            plan_code=t.plan_code,
            supplier_id=strawberry.ID(t.supplier_id) if t.supplier_id else None,
            state=SubscriptionState(t.state),
            template=t.template or None,
        )


@strawberry.type(description="A limit of a plan.")
class PlanQuota:
    name: str = strawberry.field(description="E.g. devices, series, retention_days, api_keys.")
    value: float


@strawberry.type(description="A subscription plan of the catalog.")
class Plan:
    code: str
    name: str
    price_krw_month: float = strawberry.field(description="Monthly price in Korean won.")
    quotas: list[PlanQuota]
    features: list[str] = strawberry.field(description="What the plan includes, e.g. anomaly_detection.")

    @classmethod
    def from_pb(cls, p: pb.Plan) -> Plan:
        return cls(
            code=p.code,
            name=p.name,
            price_krw_month=p.price_krw_month,
            quotas=[PlanQuota(name=k, value=v) for k, v in sorted(p.quotas.items())],
            features=sorted(k for k, on in p.features.items() if on),
        )


@strawberry.type(description="A page of tenants.")
class TenantConnection:
    nodes: list[Tenant]
    page_info: PageInfo


@strawberry.type(description="A person of your tenant and their role.")
class Member:
    user_id: strawberry.ID
    email: str
    display_name: str
    role: TenantRole


@strawberry.type(description="A page of your tenant's people, by email.")
class MemberConnection:
    nodes: list[Member]
    page_info: PageInfo


@strawberry.type(description="An invitation to your tenant waiting to be accepted (its link works once).")
class Invitation:
    id: strawberry.ID
    email: str
    role: TenantRole
    invited_by: str = strawberry.field(description='Who invited: "user:<id>".')
    created_at: Timestamp
    expires_at: Timestamp


@strawberry.type(description="One UTC day of a tenant's use of the platform, as metered.")
class DailyUsage:
    tenant_id: strawberry.ID
    day: date
    points: float = strawberry.field(description="Points stored that day.")
    bytes_stored: float = strawberry.field(description="Compressed bytes stored that day.")
    active_devices: int
    api_calls: float = strawberry.field(description="GraphQL calls (web app and API keys).")


@strawberry.type(description="Something that happened, as the audit log recorded it.")
class AuditEvent:
    id: strawberry.ID
    tenant_id: strawberry.ID | None
    at: Timestamp
    actor_kind: str = strawberry.field(description="user, api_key, device or service.")
    actor_id: str
    action: str = strawberry.field(description="E.g. tenant.create, subscription.suspended, login.fail.")
    target: str
    outcome: str = strawberry.field(description="ok, denied or failed.")
    source: str = strawberry.field(description="The client's address, or a service's name.")


@strawberry.type(description="A page of audit events, newest first.")
class AuditEventConnection:
    nodes: list[AuditEvent]
    page_info: PageInfo


@strawberry.type(description="A tenant after a change, or why it was not changed.")
class TenantPayload:
    tenant: Tenant | None
    errors: list[UserError] = strawberry.field(description="Empty when it worked.")


@strawberry.type(description="An invitation sent by email, or why none was.")
class InviteUserPayload:
    invitation_id: strawberry.ID | None
    errors: list[UserError] = strawberry.field(description="Empty when the invitation was sent.")


@strawberry.type
class TenantQuery:
    @strawberry.field(
        permission_classes=[IsPerson],
        description="The tenants you may run, by name: a supplier's staff, the ones it resells; the operator, all.",
    )
    async def tenants(self, info: Info, first: int = 50, after: After = None) -> TenantConnection:
        ctx = info.context
        request = pb.ListTenantsRequest(page_size=checked_first(first), page_token=after or "")
        response = await ctx.backends.call(ctx.backends.tenancy.ListTenants, request, ctx.principal)
        return TenantConnection(
            nodes=[Tenant.from_pb(t) for t in response.tenants],
            page_info=page_info_from(response.next_page_token),
        )

    @strawberry.field(
        permission_classes=[CanReadTenantRecord], description="One tenant you may see (NOT_FOUND otherwise)."
    )
    async def tenant(self, info: Info, id: strawberry.ID) -> Tenant:
        ctx = info.context
        response = await ctx.backends.call(
            ctx.backends.tenancy.GetTenant, pb.GetTenantRequest(tenant_id=str(id)), ctx.principal
        )
        return Tenant.from_pb(response.tenant)

    @strawberry.field(
        permission_classes=[IsTenantUser],
        description="Your tenant's people and their roles, by email, a page at a time.",
    )
    async def members(self, info: Info, first: int = 50, after: After = None) -> MemberConnection:
        ctx = info.context
        request = pb.ListMembersRequest(page_size=checked_first(first), page_token=after or "")
        response = await ctx.backends.call(ctx.backends.tenancy.ListMembers, request, ctx.principal)
        return MemberConnection(
            nodes=[
                Member(
                    user_id=strawberry.ID(m.user_id),
                    email=m.email,
                    display_name=m.display_name,
                    role=TenantRole(m.role),
                )
                for m in response.members
            ],
            page_info=page_info_from(response.next_page_token),
        )

    @strawberry.field(
        permission_classes=[CanConfigureTenant],
        description="Your tenant's invitations neither accepted nor expired, newest first (owners and admins;"
        " at most 200).",
    )
    async def invitations(self, info: Info) -> list[Invitation]:
        ctx = info.context
        found = await ctx.backends.call(
            ctx.backends.tenancy.ListInvitations, pb.ListInvitationsRequest(), ctx.principal
        )
        return [
            Invitation(
                id=strawberry.ID(i.id),
                email=i.email,
                role=TenantRole(i.role),
                invited_by=i.invited_by,
                created_at=i.created_ns,
                expires_at=i.expires_ns,
            )
            for i in found.invitations
        ]

    @strawberry.field(
        permission_classes=[IsSignedIn],
        description="The plans sfcloud sells, in the catalog's order, with their limits.",
    )
    async def plans(self, info: Info) -> list[Plan]:
        ctx = info.context
        response = await ctx.backends.call(
            ctx.backends.tenancy.ListPlans, pb.ListPlansRequest(), ctx.principal
        )
        return [Plan.from_pb(p) for p in response.plans]

    @strawberry.field(
        permission_classes=[IsSignedIn],
        description="Your tenant's daily usage (a supplier's staff: of every tenant it resells), UTC days"
        " from `firstDay` to `lastDay` inclusive, at most 366 days.",
    )
    async def usage(self, info: Info, first_day: date, last_day: date) -> list[DailyUsage]:
        ctx = info.context
        request = pb.GetUsageRequest(first_day=first_day.isoformat(), last_day=last_day.isoformat())
        response = await ctx.backends.call(ctx.backends.tenancy.GetUsage, request, ctx.principal)
        return [
            DailyUsage(
                tenant_id=strawberry.ID(d.tenant_id),
                day=date.fromisoformat(d.day),
                points=d.points,
                bytes_stored=d.bytes_stored,
                active_devices=d.active_devices,
                api_calls=d.api_calls,
            )
            for d in response.days
        ]

    @strawberry.field(
        permission_classes=[IsSupplierStaffOrOperator],
        description='The billing export of a month ("2026-11") as CSV, one row per tenant you resell (the'
        " operator: every tenant) with its plan, state and monthly price in won, and the month's points and API"
        " calls (summed) and stored bytes and active devices (at their peak); columns tenant_id, tenant, plan,"
        " state, price_krw, points, bytes_stored, active_devices, api_calls.",
    )
    async def billing_csv(self, info: Info, month: str) -> str:
        ctx = info.context
        request = pb.ExportBillingRequest(month=month)
        return (await ctx.backends.call(ctx.backends.tenancy.ExportBilling, request, ctx.principal)).csv

    @strawberry.field(
        permission_classes=[IsPerson],
        description="The audit log you may read (tenancy decides), newest first.",
    )
    async def audit_events(self, info: Info, first: int = 100, after: After = None) -> AuditEventConnection:
        ctx = info.context
        request = pb.ListAuditEventsRequest(
            page_size=checked_first(first, most_first("auditEvents")), page_token=after or ""
        )
        response = await ctx.backends.call(ctx.backends.tenancy.ListAuditEvents, request, ctx.principal)
        return AuditEventConnection(
            nodes=[
                AuditEvent(
                    id=strawberry.ID(str(e.id)),
                    tenant_id=strawberry.ID(e.tenant_id) if e.tenant_id else None,
                    at=e.at_ns,
                    actor_kind=e.actor_kind,
                    actor_id=e.actor_id,
                    action=e.action,
                    target=e.target,
                    outcome=e.outcome,
                    source=e.source,
                )
                for e in response.events
            ],
            page_info=page_info_from(response.next_page_token),
        )


@strawberry.type
class TenantMutation:
    @strawberry.mutation(
        permission_classes=[IsPerson],
        description="Create a tenant on a plan, optionally from an industry template and as a 30-day trial"
        " (a supplier's staff: resold by their supplier; the operator: direct). With `ownerEmail`, its first"
        " person is invited by email as its owner in the same step (`ownerName` greets them).",
    )
    async def create_tenant(
        self,
        info: Info,
        name: str,
        plan_code: str,
        template: str | None = None,
        trial: bool = False,
        owner_email: str | None = None,
        owner_name: str | None = None,
    ) -> TenantPayload:
        request = pb.CreateTenantRequest(
            name=name,
            plan_code=plan_code,
            template=template or "",
            trial=trial,
            owner_email=owner_email or "",
            owner_name=owner_name or "",
        )
        return await _tenant_change(info, "CreateTenant", request)

    @strawberry.mutation(permission_classes=[IsPerson], description="Move a tenant you run to another plan.")
    async def change_plan(self, info: Info, tenant_id: strawberry.ID, plan_code: str) -> TenantPayload:
        return await _tenant_change(
            info, "ChangePlan", pb.ChangePlanRequest(tenant_id=str(tenant_id), plan_code=plan_code)
        )

    @strawberry.mutation(
        permission_classes=[IsPerson],
        description="Suspend a tenant you run: its devices and users are refused until it is resumed; its data stays.",
    )
    async def suspend_tenant(self, info: Info, tenant_id: strawberry.ID, reason: str) -> TenantPayload:
        request = pb.SetSubscriptionStateRequest(
            tenant_id=str(tenant_id), state=pb.SUBSCRIPTION_STATE_SUSPENDED, reason=reason
        )
        return await _tenant_change(info, "SetSubscriptionState", request)

    @strawberry.mutation(
        permission_classes=[IsPerson], description="Make a suspended tenant you run active again."
    )
    async def resume_tenant(self, info: Info, tenant_id: strawberry.ID, reason: str) -> TenantPayload:
        request = pb.SetSubscriptionStateRequest(
            tenant_id=str(tenant_id), state=pb.SUBSCRIPTION_STATE_ACTIVE, reason=reason
        )
        return await _tenant_change(info, "SetSubscriptionState", request)

    @strawberry.mutation(
        permission_classes=[IsPerson],
        description="Invite a person to your tenant with a role (owners and admins); they get an email link.",
    )
    async def invite_user(self, info: Info, email: str, role: TenantRole) -> InviteUserPayload:
        return await _invite(info, "InviteUser", pb.InviteUserRequest(email=email, role=role.value))

    @strawberry.mutation(
        permission_classes=[IsPerson],
        description=(
            "Invite a person onto your supplier's staff (its admins; the operator names the supplier); they get"
            " an email link and join with their own password."
        ),
    )
    async def invite_staff(
        self, info: Info, email: str, role: StaffRole, supplier_id: strawberry.ID | None = None
    ) -> InviteUserPayload:
        supplier = supplier_id or info.context.principal.supplier_id or ""
        request = pb.InviteSupplierUserRequest(supplier_id=str(supplier), email=email, role=role.value)
        return await _invite(info, "InviteSupplierUser", request)


async def _invite(info: Info, method: str, request) -> InviteUserPayload:
    ctx = info.context
    sent, problems = await attempt(
        ctx.backends.call(getattr(ctx.backends.tenancy, method), request, ctx.principal)
    )
    return InviteUserPayload(
        invitation_id=strawberry.ID(sent.invitation_id) if sent else None, errors=problems
    )


async def _tenant_change(info: Info, method: str, request) -> TenantPayload:
    ctx = info.context
    done, problems = await attempt(
        ctx.backends.call(getattr(ctx.backends.tenancy, method), request, ctx.principal),
        also=(errors.ResourceExhausted,),
    )
    return TenantPayload(tenant=Tenant.from_pb(done.tenant) if done else None, errors=problems)
