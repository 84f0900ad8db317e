"""The supplier directory (docs/SUPPORT.md): suppliers searched and filtered by anyone signed in, each with
its profile and the track record the platform computes; profiles edited by a supplier's admins; a tenant's
owner requests a supplier, whose staff accept or decline. Tenancy checks the roles."""

from __future__ import annotations

import enum

import strawberry
from strawberry.types import Info

from gateway.graphql.paging import PageInfo, checked_first, page_info_from
from gateway.graphql.payloads import UserError, attempt
from gateway.graphql.permissions import IsPerson, IsSignedIn, IsSupplierStaff, IsTenantUser
from gateway.graphql.scalars import Timestamp
from gateway.graphql.telemetry import After
from sfcloud.v1 import directory_pb2 as pb
from sfcloud.v1 import tenancy_pb2


@strawberry.type(description="A role among a supplier's key staff.")
class KeyStaff:
    role: str
    count: int


@strawberry.type(description="A project a supplier delivered.")
class ClientReference:
    client: str
    project: str
    year: int | None = strawberry.field(description="Null when not said.")


@strawberry.type(description="What a supplier's admins say about it; tags are lower case.")
class SupplierProfile:
    summary: str
    specialties: list[str]
    industries: list[str]
    regions: list[str]
    certifications: list[str]
    key_staff: list[KeyStaff]
    references: list[ClientReference]
    updated_at: Timestamp | None = strawberry.field(description="Null when the profile was never written.")


@strawberry.type(description="Computed by the platform from its own records; no supplier can write it.")
class TrackRecord:
    active_tenants: int = strawberry.field(description="Tenants it resells in trial, active or past due.")
    assessed_tenants: int = strawberry.field(description="Of those, tenants with a smart-factory level.")
    average_level_gain: float | None = strawberry.field(
        description="Mean of (latest - first daily level) over the assessed tenants; null when none is."
    )
    answered_tickets: int = strawberry.field(description="Its tenants' tickets it has answered.")
    median_first_response_seconds: float | None = strawberry.field(
        description="Median time from a ticket's opening to its first answer; null when none is answered."
    )


@strawberry.type(description="A supplier (system integrator) in the directory.")
class Supplier:
    id: strawberry.ID
    name: str
    description: str
    website: str
    contact_email: str
    profile: SupplierProfile
    track_record: TrackRecord

    @classmethod
    def from_pb(cls, s: pb.SupplierListing) -> Supplier:
        p, r = s.profile, s.track_record
        profile = SupplierProfile(
            summary=p.summary,
            specialties=list(p.specialties),
            industries=list(p.industries),
            regions=list(p.regions),
            certifications=list(p.certifications),
            key_staff=[KeyStaff(role=k.role, count=k.count) for k in p.key_staff],
            references=[
                ClientReference(client=c.client, project=c.project, year=c.year or None) for c in p.references
            ],
            updated_at=p.updated_ns or None,
        )
        record = TrackRecord(
            active_tenants=r.active_tenants,
            assessed_tenants=r.assessed_tenants,
            average_level_gain=r.average_level_gain if r.assessed_tenants else None,
            answered_tickets=r.answered_tickets,
            median_first_response_seconds=r.median_first_response_s if r.answered_tickets else None,
        )
        return cls(
            id=strawberry.ID(s.id),
            name=s.name,
            description=s.description,
            website=s.website,
            contact_email=s.contact_email,
            profile=profile,
            track_record=record,
        )


@strawberry.type(description="A page of the directory.")
class SupplierPage:
    suppliers: list[Supplier]
    next_cursor: str | None = strawberry.field(
        description="Pass as `after` for the next page; null on the last."
    )


@strawberry.enum(description="Where a request to a supplier stands.")
class SupplierRequestState(enum.Enum):
    REQUESTED = tenancy_pb2.TRANSFER_STATE_REQUESTED
    ACCEPTED = tenancy_pb2.TRANSFER_STATE_ACCEPTED
    DECLINED = tenancy_pb2.TRANSFER_STATE_DECLINED


@strawberry.type(
    description="A tenant's request to be served by a supplier: accepting moves the tenant to it."
)
class SupplierRequest:
    id: strawberry.ID
    tenant_id: strawberry.ID
    tenant_name: str
    supplier_id: strawberry.ID
    supplier_name: str
    previous_supplier_id: strawberry.ID | None = strawberry.field(description="Null when it had none.")
    message: str
    state: SupplierRequestState
    requested_at: Timestamp
    decided_at: Timestamp | None
    decision_note: str

    @classmethod
    def from_pb(cls, t: tenancy_pb2.SupplierTransfer) -> SupplierRequest:
        return cls(
            id=strawberry.ID(t.id),
            tenant_id=strawberry.ID(t.tenant_id),
            tenant_name=t.tenant_name,
            supplier_id=strawberry.ID(t.to_supplier_id),
            supplier_name=t.to_supplier_name,
            previous_supplier_id=strawberry.ID(t.from_supplier_id) if t.from_supplier_id else None,
            message=t.message,
            state=SupplierRequestState(t.state),
            requested_at=t.requested_ns,
            decided_at=t.decided_ns or None,
            decision_note=t.decision_note,
        )


@strawberry.type(description="A page of requests to suppliers, newest first.")
class SupplierRequestConnection:
    nodes: list[SupplierRequest]
    page_info: PageInfo


@strawberry.input(description="A role among the key staff, and how many hold it (1-10000).")
class KeyStaffInput:
    role: str
    count: int


@strawberry.input(description="A delivered project to cite.")
class ClientReferenceInput:
    client: str
    project: str
    year: int = strawberry.field(default=0, description="0 when not said.")


@strawberry.input(description="A supplier's profile, replaced whole. The track record is not part of it.")
class SupplierProfileInput:
    summary: str = ""
    specialties: list[str] = strawberry.field(default_factory=list)
    industries: list[str] = strawberry.field(default_factory=list)
    regions: list[str] = strawberry.field(default_factory=list)
    certifications: list[str] = strawberry.field(default_factory=list)
    key_staff: list[KeyStaffInput] = strawberry.field(default_factory=list)
    references: list[ClientReferenceInput] = strawberry.field(default_factory=list)

    def to_pb(self) -> pb.SupplierProfile:
        return pb.SupplierProfile(
            summary=self.summary,
            specialties=self.specialties,
            industries=self.industries,
            regions=self.regions,
            certifications=self.certifications,
            key_staff=[pb.KeyStaff(role=k.role, count=k.count) for k in self.key_staff],
            references=[
                pb.ClientReference(client=r.client, project=r.project, year=r.year) for r in self.references
            ],
        )


@strawberry.type(description="The supplier after its profile changed, or why the change was refused.")
class SupplierProfilePayload:
    supplier: Supplier | None
    errors: list[UserError]


@strawberry.type(description="A request to a supplier after it was made, or why it was refused.")
class RequestSupplierPayload:
    request_id: strawberry.ID | None
    errors: list[UserError] = strawberry.field(
        description="Empty when done; e.g. SUPPLIER_NOT_FOUND, SAME_SUPPLIER, DUPLICATE_NAME (one open request)."
    )


@strawberry.type(description="The outcome of accepting or declining a request.")
class SupplierDecisionPayload:
    done: bool
    errors: list[UserError]


async def _call(info: Info, stub: str, method: str, request):
    ctx = info.context
    return await attempt(
        ctx.backends.call(getattr(getattr(ctx.backends, stub), method), request, ctx.principal)
    )


@strawberry.type
class DirectoryQuery:
    @strawberry.field(
        permission_classes=[IsSignedIn],
        description="Suppliers whose profile matches every filter given (tags case-insensitive; `text` in"
        " names, descriptions, summaries and tags), by name, `first` (1-50) at a time.",
    )
    async def suppliers(
        self,
        info: Info,
        specialty: str = "",
        industry: str = "",
        region: str = "",
        text: str = "",
        first: int = 20,
        after: str | None = None,
    ) -> SupplierPage:
        ctx = info.context
        request = pb.SearchSuppliersRequest(
            specialty=specialty,
            industry=industry,
            region=region,
            text=text,
            page_size=min(max(first, 1), 50),
            page_token=after or "",
        )
        found = await ctx.backends.call(ctx.backends.directory.SearchSuppliers, request, ctx.principal)
        return SupplierPage(
            suppliers=[Supplier.from_pb(s) for s in found.suppliers],
            next_cursor=found.next_page_token or None,
        )

    @strawberry.field(permission_classes=[IsSignedIn], description="One supplier's listing.")
    async def supplier(self, info: Info, id: strawberry.ID) -> Supplier:
        ctx = info.context
        request = pb.GetSupplierListingRequest(supplier_id=str(id))
        found = await ctx.backends.call(ctx.backends.directory.GetSupplierListing, request, ctx.principal)
        return Supplier.from_pb(found.supplier)

    @strawberry.field(
        permission_classes=[IsPerson],
        description="Requests to suppliers, newest first: your tenant's (owners and admins), or those to and"
        " from your supplier (its staff).",
        deprecation_reason="Use supplierRequestsConnection: a cursor connection.",
    )
    async def supplier_requests(self, info: Info) -> list[SupplierRequest]:
        ctx = info.context
        request = tenancy_pb2.ListSupplierTransfersRequest()
        found = await ctx.backends.call(ctx.backends.tenancy.ListSupplierTransfers, request, ctx.principal)
        return [SupplierRequest.from_pb(t) for t in found.transfers]

    @strawberry.field(
        permission_classes=[IsPerson],
        description="Requests to suppliers, newest first, a page at a time: your tenant's (owners and admins),"
        " or those to and from your supplier (its staff).",
    )
    async def supplier_requests_connection(
        self, info: Info, first: int = 50, after: After = None
    ) -> SupplierRequestConnection:
        ctx = info.context
        request = tenancy_pb2.ListSupplierTransfersRequest(
            page_size=checked_first(first), page_token=after or ""
        )
        found = await ctx.backends.call(ctx.backends.tenancy.ListSupplierTransfers, request, ctx.principal)
        return SupplierRequestConnection(
            nodes=[SupplierRequest.from_pb(t) for t in found.transfers],
            page_info=page_info_from(found.next_page_token),
        )


@strawberry.type
class DirectoryMutation:
    @strawberry.mutation(
        permission_classes=[IsSupplierStaff], description="Replace your supplier's profile (its admins)."
    )
    async def update_supplier_profile(
        self, info: Info, profile: SupplierProfileInput
    ) -> SupplierProfilePayload:
        request = pb.UpdateSupplierProfileRequest(profile=profile.to_pb())
        done, problems = await _call(info, "directory", "UpdateSupplierProfile", request)
        return SupplierProfilePayload(
            supplier=Supplier.from_pb(done.supplier) if done else None, errors=problems
        )

    @strawberry.mutation(
        permission_classes=[IsTenantUser],
        description="Ask a supplier to serve your tenant (owners); it sees your message and accepts or declines.",
    )
    async def request_supplier(
        self, info: Info, supplier_id: strawberry.ID, message: str = ""
    ) -> RequestSupplierPayload:
        request = tenancy_pb2.RequestSupplierTransferRequest(to_supplier_id=str(supplier_id), message=message)
        done, problems = await _call(info, "tenancy", "RequestSupplierTransfer", request)
        return RequestSupplierPayload(
            request_id=strawberry.ID(done.transfer_id) if done else None, errors=problems
        )

    @strawberry.mutation(
        permission_classes=[IsSupplierStaff],
        description="Accept a tenant's request to your supplier: the tenant becomes yours at once.",
    )
    async def accept_supplier_request(self, info: Info, id: strawberry.ID) -> SupplierDecisionPayload:
        request = tenancy_pb2.AcceptSupplierTransferRequest(transfer_id=str(id))
        done, problems = await _call(info, "tenancy", "AcceptSupplierTransfer", request)
        return SupplierDecisionPayload(done=done is not None, errors=problems)

    @strawberry.mutation(
        permission_classes=[IsSupplierStaff],
        description="Decline a tenant's request to your supplier, saying why.",
    )
    async def decline_supplier_request(
        self, info: Info, id: strawberry.ID, note: str = ""
    ) -> SupplierDecisionPayload:
        request = tenancy_pb2.DeclineSupplierTransferRequest(transfer_id=str(id), note=note)
        done, problems = await _call(info, "tenancy", "DeclineSupplierTransfer", request)
        return SupplierDecisionPayload(done=done is not None, errors=problems)
