"""A supplier's staff and the invitations onto it still open, as the supplier portal's Staff page shows them
(inviting is `inviteStaff`, with the control plane in `tenants.py`).

Tenancy decides who sees what: any of a supplier's staff its staff list, only its admins its open invitations,
the operator any supplier's by naming it; a tenant's people and API keys are refused here already.
"""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from gateway.graphql.paging import PageInfo, checked_first, page_info_from
from gateway.graphql.permissions import IsSupplierStaffOrOperator
from gateway.graphql.scalars import Timestamp
from gateway.graphql.telemetry import After
from gateway.graphql.tenants import StaffRole
from sfcloud.v1 import tenancy_pb2 as pb

SupplierId = Annotated[
    strawberry.ID | None,
    strawberry.argument(description="The supplier: the operator names one; its staff may omit it."),
]


@strawberry.type(description="A person on a supplier's staff and their role there.")
class StaffMember:
    user_id: strawberry.ID
    email: str
    display_name: str
    role: StaffRole

    @classmethod
    def from_pb(cls, m: pb.SupplierStaffMember) -> StaffMember:
        return cls(
            user_id=strawberry.ID(m.user_id),
            email=m.email,
            display_name=m.display_name,
            role=StaffRole(m.role),
        )


@strawberry.type(description="A page of a supplier's staff, by email.")
class StaffMemberConnection:
    nodes: list[StaffMember]
    page_info: PageInfo


@strawberry.type(
    description="An invitation onto a supplier's staff waiting to be accepted (its link works once)."
)
class StaffInvitation:
    id: strawberry.ID
    email: str
    role: StaffRole
    invited_by: str = strawberry.field(description="Who invited: their user id.")
    created_at: Timestamp
    expires_at: Timestamp

    @classmethod
    def from_pb(cls, i: pb.SupplierInvitation) -> StaffInvitation:
        return cls(
            id=strawberry.ID(i.id),
            email=i.email,
            role=StaffRole(i.role),
            invited_by=i.invited_by,
            created_at=i.created_ns,
            expires_at=i.expires_ns,
        )


@strawberry.type
class StaffQuery:
    @strawberry.field(
        permission_classes=[IsSupplierStaffOrOperator],
        description="Your supplier's staff and their roles, by email, a page at a time (any of its staff; the"
        " operator names the supplier).",
    )
    async def supplier_staff(
        self, info: Info, first: int = 50, after: After = None, supplier_id: SupplierId = None
    ) -> StaffMemberConnection:
        ctx = info.context
        request = pb.ListSupplierStaffRequest(
            supplier_id=supplier_id or "", page_size=checked_first(first), page_token=after or ""
        )
        response = await ctx.backends.call(ctx.backends.tenancy.ListSupplierStaff, request, ctx.principal)
        return StaffMemberConnection(
            nodes=[StaffMember.from_pb(m) for m in response.staff],
            page_info=page_info_from(response.next_page_token),
        )

    @strawberry.field(
        permission_classes=[IsSupplierStaffOrOperator],
        description="Your supplier's invitations onto its staff neither accepted nor expired, newest first (its"
        " admins; the operator names the supplier; at most 200).",
    )
    async def supplier_invitations(self, info: Info, supplier_id: SupplierId = None) -> list[StaffInvitation]:
        ctx = info.context
        request = pb.ListSupplierInvitationsRequest(supplier_id=supplier_id or "")
        found = await ctx.backends.call(ctx.backends.tenancy.ListSupplierInvitations, request, ctx.principal)
        return [StaffInvitation.from_pb(i) for i in found.invitations]
