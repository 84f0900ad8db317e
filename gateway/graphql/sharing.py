"""My manufacturing data (docs/SHARING.md): a tenant's owners and admins grant another organisation read access
to chosen series, a time range and a level, for a purpose, until an expiry date; revoke it; and see every
read under it. The grantee lists what it was given and reads it with `sharedPoints` and `sharedAggregate`.

The gateway only forwards: analytics asks tenancy about the grant before every shared read, and the owner
tenant comes from the grant. Own-tenant reads (`points`, `aggregate`, ...) are unchanged."""

from __future__ import annotations

import enum
from typing import Annotated

import strawberry
from strawberry.types import Info

from gateway.graphql.assets import finite
from gateway.graphql.paging import PageInfo, checked_first, page_info_from
from gateway.graphql.payloads import UserError, attempt
from gateway.graphql.permissions import CanConfigureTenant, CanReadSharedData, IsPlatformOperator
from gateway.graphql.scalars import Duration, Timestamp
from gateway.graphql.telemetry import After, From, PointPage
from sfcloud.v1 import common_pb2
from sfcloud.v1 import sharing_pb2 as pb

# The service's field names for the inputs this API names otherwise.
_INPUT_FIELDS = {"range": "from", "expiresNs": "expiresAt"}


@strawberry.enum(description="The finest data a grant lets through.")
class Granularity(enum.Enum):
    RAW = pb.GRANULARITY_RAW
    MINUTE = pb.GRANULARITY_MINUTE
    HOUR = pb.GRANULARITY_HOUR


@strawberry.enum(description="Who receives a grant.")
class GranteeKind(enum.Enum):
    TENANT = pb.GRANTEE_KIND_TENANT
    SUPPLIER = pb.GRANTEE_KIND_SUPPLIER


@strawberry.type(description="A shared series as the grantor's catalog named it when granting.")
class SharedSeries:
    id: strawberry.ID
    name: str
    unit: str
    machine: str = strawberry.field(description="The name of its machine.")


@strawberry.type(description="Read access one tenant gave another organisation.")
class DataGrant:
    id: strawberry.ID
    grantor_tenant_id: strawberry.ID
    grantor_name: str
    grantee_kind: GranteeKind
    grantee_id: strawberry.ID
    grantee_name: str
    grantee_is_partner: bool = strawberry.field(description="A registered AI-analysis partner when granted.")
    series: list[SharedSeries]
    from_: Timestamp = strawberry.field(
        name="from", description="Shared points' times start here (inclusive)."
    )
    to: Timestamp = strawberry.field(description="... and end here (exclusive).")
    granularity: Granularity
    purpose: str
    expires_at: Timestamp
    created_at: Timestamp
    created_by: str
    revoked_at: Timestamp | None
    revoked_by: str | None

    @classmethod
    def from_pb(cls, g: pb.DataGrant) -> DataGrant:
        return cls(
            id=strawberry.ID(g.id),
            grantor_tenant_id=strawberry.ID(g.grantor_tenant_id),
            grantor_name=g.grantor_name,
            grantee_kind=GranteeKind(g.grantee_kind),
            grantee_id=strawberry.ID(g.grantee_id),
            grantee_name=g.grantee_name,
            grantee_is_partner=g.grantee_is_partner,
            series=[
                SharedSeries(id=strawberry.ID(s.id), name=s.name, unit=s.unit, machine=s.machine)
                for s in g.series
            ],
            from_=g.range.start_ns,
            to=g.range.end_ns,
            granularity=Granularity(g.granularity),
            purpose=g.purpose,
            expires_at=g.expires_ns,
            created_at=g.created_ns,
            created_by=g.created_by,
            revoked_at=g.revoked_ns or None,
            revoked_by=g.revoked_by or None,
        )


@strawberry.input(description="What to share, with whom, why and until when.")
class GrantDataInput:
    grantee_kind: GranteeKind
    grantee_id: strawberry.ID = strawberry.field(
        description="Another tenant, your own supplier, or a registered AI-analysis partner (a supplier)."
    )
    series_ids: list[strawberry.ID] = strawberry.field(default_factory=list, description="Series to share.")
    asset_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Assets whose series (as the catalog holds them now) to share."
    )
    from_: Timestamp = strawberry.field(name="from", description="Points from this time (inclusive).")
    to: Timestamp = strawberry.field(
        description="... to this time (exclusive); whole minutes or hours for such grants."
    )
    granularity: Granularity
    purpose: str = strawberry.field(description="Why the grantee may read it (1 to 500 characters).")
    expires_at: Timestamp = strawberry.field(description="When the grant ends; must lie in the future.")


@strawberry.type(description="A grant after it was made or revoked, or why that was refused.")
class GrantPayload:
    grant: DataGrant | None
    errors: list[UserError] = strawberry.field(
        description="Empty when done; e.g. GRANTEE_NOT_FOUND, GRANTEE_NOT_ELIGIBLE, GRANT_OVERLAPS, EXPIRY_IN_PAST,"
        " SERIES_NOT_FOUND, RANGE_NOT_ALIGNED, GRANT_NOT_FOUND."
    )


@strawberry.type(description="A supplier's AI-analysis partner registration after it was set, or why not.")
class AnalysisPartnerPayload:
    supplier_id: strawberry.ID | None = strawberry.field(description="The supplier; null when refused.")
    partner: bool | None = strawberry.field(
        description="Whether it is now a registered partner (tenants may grant it data); null when refused."
    )
    errors: list[UserError] = strawberry.field(
        description="Empty when done; e.g. SUPPLIER_NOT_FOUND, INVALID_ARGUMENT."
    )


@strawberry.type(
    description="Something that happened under a grant: granted, a read (allowed or refused), revoked."
)
class GrantAccess:
    at: Timestamp
    action: str = strawberry.field(description="share.grant, share.read, share.export or share.revoke.")
    actor: str = strawberry.field(description='Who: "user:<id>" or "api_key:<id>".')
    outcome: str = strawberry.field(description="ok or denied.")
    reason: str | None = strawberry.field(description="Why a read was refused.")
    series_id: strawberry.ID | None = strawberry.field(description="The series a read asked for.")
    from_: Timestamp | None = strawberry.field(name="from", description="The range a read asked for.")
    to: Timestamp | None
    resolution: Duration | None = strawberry.field(description="A read's bucket width; null for raw points.")
    source: str = strawberry.field(
        description='Where the call came from ("export:<id>" for reads made for an export).'
    )
    export_id: strawberry.ID | None = strawberry.field(
        description="share.export: the grantee's export (its id is all the grantor sees of it)."
    )
    export_stage: str | None = strawberry.field(
        description="share.export: request, write (the package begun), finish (before it is published) or"
        " download (a slice served)."
    )

    @classmethod
    def from_pb(cls, a: pb.GrantAccess) -> GrantAccess:
        read = a.action in ("share.read", "share.export")
        return cls(
            at=a.at_ns,
            action=a.action,
            actor=a.actor,
            outcome=a.outcome,
            reason=a.reason or None,
            series_id=strawberry.ID(a.series_id) if a.series_id else None,
            from_=a.range.start_ns if read else None,
            to=a.range.end_ns if read else None,
            resolution=a.resolution_ns or None,
            source=a.source,
            export_id=strawberry.ID(a.export_id) if a.export_id else None,
            export_stage=a.export_stage or None,
        )


@strawberry.type(description="A page of a grant's history, newest first.")
class GrantAccessPage:
    accesses: list[GrantAccess]
    next_cursor: str | None = strawberry.field(
        description="Pass as `after` for the next page; null on the last."
    )


@strawberry.type(description="Statistics of one bucket of shared data; no point's own time is shared.")
class SharedBucket:
    start: Timestamp
    count: int
    min: float | None
    max: float | None
    sum: float | None
    avg: float | None


async def _grant_payload(info: Info, method: str, request) -> GrantPayload:
    ctx = info.context
    done, problems = await attempt(
        ctx.backends.call(getattr(ctx.backends.sharing, method), request, ctx.principal)
    )
    for problem in problems:
        problem.field = _INPUT_FIELDS.get(problem.field, problem.field)
    return GrantPayload(grant=DataGrant.from_pb(done.grant) if done else None, errors=problems)


def _range(start: int, end: int) -> common_pb2.TimeRange:
    return common_pb2.TimeRange(start_ns=start, end_ns=end)


IncludeEnded = Annotated[bool, strawberry.argument(description="Also revoked and expired grants.")]


@strawberry.type(description="A page of data-sharing grants, newest first.")
class DataGrantConnection:
    nodes: list[DataGrant]
    page_info: PageInfo

    @classmethod
    def from_pb(cls, found: pb.ListGrantsResponse | pb.ListSharedWithMeResponse) -> DataGrantConnection:
        return cls(
            nodes=[DataGrant.from_pb(g) for g in found.grants],
            page_info=page_info_from(found.next_page_token),
        )


@strawberry.type
class SharingQuery:
    @strawberry.field(
        permission_classes=[CanConfigureTenant],
        description="The grants your tenant gave, newest first.",
        deprecation_reason="Use dataGrantsConnection: a cursor connection.",
    )
    async def data_grants(self, info: Info, include_ended: IncludeEnded = False) -> list[DataGrant]:
        ctx = info.context
        request = pb.ListGrantsRequest(include_ended=include_ended)
        found = await ctx.backends.call(ctx.backends.sharing.ListGrants, request, ctx.principal)
        return [DataGrant.from_pb(g) for g in found.grants]

    @strawberry.field(
        permission_classes=[CanConfigureTenant],
        description="The grants your tenant gave, newest first, a page at a time.",
    )
    async def data_grants_connection(
        self, info: Info, include_ended: IncludeEnded = False, first: int = 50, after: After = None
    ) -> DataGrantConnection:
        ctx = info.context
        request = pb.ListGrantsRequest(
            include_ended=include_ended, page_size=checked_first(first), page_token=after or ""
        )
        return DataGrantConnection.from_pb(
            await ctx.backends.call(ctx.backends.sharing.ListGrants, request, ctx.principal)
        )

    @strawberry.field(
        permission_classes=[CanReadSharedData],
        description="The grants given to your organisation (your tenant, or your supplier), newest first.",
        deprecation_reason="Use sharedWithMeConnection: a cursor connection.",
    )
    async def shared_with_me(self, info: Info, include_ended: IncludeEnded = False) -> list[DataGrant]:
        ctx = info.context
        request = pb.ListSharedWithMeRequest(include_ended=include_ended)
        found = await ctx.backends.call(ctx.backends.sharing.ListSharedWithMe, request, ctx.principal)
        return [DataGrant.from_pb(g) for g in found.grants]

    @strawberry.field(
        permission_classes=[CanReadSharedData],
        description="The grants given to your organisation (your tenant, or your supplier), newest first, a"
        " page at a time.",
    )
    async def shared_with_me_connection(
        self, info: Info, include_ended: IncludeEnded = False, first: int = 50, after: After = None
    ) -> DataGrantConnection:
        ctx = info.context
        request = pb.ListSharedWithMeRequest(
            include_ended=include_ended, page_size=checked_first(first), page_token=after or ""
        )
        return DataGrantConnection.from_pb(
            await ctx.backends.call(ctx.backends.sharing.ListSharedWithMe, request, ctx.principal)
        )

    @strawberry.field(
        permission_classes=[CanConfigureTenant],
        description="Everything that happened under one of your grants, newest first: every read by the grantee"
        " (allowed or refused), the grant and its revocation.",
    )
    async def grant_access_log(
        self, info: Info, grant_id: strawberry.ID, first: int = 100, after: str | None = None
    ) -> GrantAccessPage:
        ctx = info.context
        request = pb.ListGrantAccessesRequest(
            grant_id=str(grant_id), limit=min(max(first, 1), 500), page_token=after or ""
        )
        found = await ctx.backends.call(ctx.backends.sharing.ListGrantAccesses, request, ctx.principal)
        return GrantAccessPage(
            accesses=[GrantAccess.from_pb(a) for a in found.accesses],
            next_cursor=found.next_page_token or None,
        )

    @strawberry.field(
        permission_classes=[CanReadSharedData],
        description="Raw points of a series shared with you under a RAW grant, in [from, to) within the grant,"
        " `first` (1 to 100,000) at a time; the range spans at most your plan's raw window (docs/API.md, Limits).",
    )
    async def shared_points(
        self,
        info: Info,
        grant_id: strawberry.ID,
        series_id: strawberry.ID,
        from_: From,
        to: Timestamp,
        first: int = 10_000,
        after: After = None,
    ) -> PointPage:
        ctx = info.context
        request = pb.ReadSharedPointsRequest(
            grant_id=str(grant_id),
            series_id=str(series_id),
            range=_range(from_, to),
            limit=first,
            page_token=after or "",
        )
        return PointPage.from_pb(
            await ctx.backends.call(ctx.backends.shared_query.ReadSharedPoints, request, ctx.principal)
        )

    @strawberry.field(
        permission_classes=[CanReadSharedData],
        description="Count, min, max, sum and avg per `bucket` of a series shared with you: buckets aligned to"
        " the epoch, a whole multiple of the grant's level, over a range within the grant (starting and ending"
        " on the level for MINUTE and HOUR grants).",
    )
    async def shared_aggregate(
        self,
        info: Info,
        grant_id: strawberry.ID,
        series_id: strawberry.ID,
        from_: From,
        to: Timestamp,
        bucket: Duration,
    ) -> list[SharedBucket]:
        ctx = info.context
        request = pb.AggregateSharedRequest(
            grant_id=str(grant_id), series_id=str(series_id), range=_range(from_, to), bucket_ns=bucket
        )
        found = await ctx.backends.call(ctx.backends.shared_query.AggregateShared, request, ctx.principal)
        return [
            SharedBucket(
                start=b.start_ns,
                count=b.count,
                min=finite(b.min),
                max=finite(b.max),
                sum=finite(b.sum),
                avg=finite(b.avg),
            )
            for b in found.buckets
        ]


@strawberry.type
class SharingMutation:
    @strawberry.mutation(
        permission_classes=[CanConfigureTenant],
        description="Grant another organisation read access to series of your tenant (owners and admins).",
    )
    async def grant_data(self, info: Info, input: GrantDataInput) -> GrantPayload:
        request = pb.CreateGrantRequest(
            grantee_kind=input.grantee_kind.value,
            grantee_id=str(input.grantee_id),
            series_ids=[str(s) for s in input.series_ids],
            asset_ids=[str(a) for a in input.asset_ids],
            range=_range(input.from_, input.to),
            granularity=input.granularity.value,
            purpose=input.purpose,
            expires_ns=input.expires_at,
        )
        return await _grant_payload(info, "CreateGrant", request)

    @strawberry.mutation(
        permission_classes=[CanConfigureTenant],
        description="Revoke one of your grants: the grantee's next read is refused.",
    )
    async def revoke_grant(self, info: Info, id: strawberry.ID) -> GrantPayload:
        return await _grant_payload(info, "RevokeGrant", pb.RevokeGrantRequest(grant_id=str(id)))

    @strawberry.mutation(
        permission_classes=[IsPlatformOperator],
        description="Register a supplier as an AI-analysis partner, or end its registration (the operator):"
        " any tenant may grant data to a partner; grants already given stay until they end or are revoked.",
    )
    async def set_analysis_partner(
        self, info: Info, supplier_id: strawberry.ID, partner: bool
    ) -> AnalysisPartnerPayload:
        ctx = info.context
        request = pb.SetAnalysisPartnerRequest(supplier_id=str(supplier_id), partner=partner)
        done, problems = await attempt(
            ctx.backends.call(ctx.backends.sharing.SetAnalysisPartner, request, ctx.principal)
        )
        if done is None:
            return AnalysisPartnerPayload(supplier_id=None, partner=None, errors=problems)
        return AnalysisPartnerPayload(supplier_id=supplier_id, partner=partner, errors=[])
