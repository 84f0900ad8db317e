"""The tenant's retention notice: what its plan's retention deletes within the week (docs/STORAGE.md)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from gateway.graphql.permissions import CanReadTenant, IsSignedIn
from gateway.graphql.scalars import Timestamp
from sfcloud.v1 import query_pb2


@strawberry.type(
    description="Data of the tenant that retention deletes within the coming week, and how it was announced."
)
class RetentionNotice:
    deletes_before: Timestamp = strawberry.field(
        description="Data recorded before this time is deleted within the week."
    )
    oldest_end: Timestamp = strawberry.field(description="The end of the oldest stored data: it goes first.")
    retention_days: int = strawberry.field(description="Days of data the tenant's plan keeps.")
    plan_code: str = strawberry.field(description="The plan whose retention applies, e.g. starter.")
    effective_at: Timestamp = strawberry.field(
        description="Nothing under this notice is deleted before this time (a week after it was first given)."
    )
    notified_at: Timestamp | None = strawberry.field(
        description="When the tenant's owners and admins were emailed; null until then."
    )

    @classmethod
    def from_pb(cls, n: query_pb2.RetentionNotice) -> RetentionNotice:
        return cls(
            deletes_before=n.deletes_before_ns,
            oldest_end=n.oldest_end_ns,
            retention_days=n.retention_days,
            plan_code=n.plan_code,
            effective_at=n.effective_ns,
            notified_at=n.notified_ns or None,
        )


@strawberry.type
class RetentionQuery:
    @strawberry.field(
        permission_classes=[IsSignedIn, CanReadTenant],
        description="What retention deletes of the tenant's data within the week; null when nothing is due.",
    )
    async def retention_notice(self, info: Info) -> RetentionNotice | None:
        ctx = info.context
        response = await ctx.backends.call(
            ctx.backends.query.GetRetentionNotice, query_pb2.GetRetentionNoticeRequest(), ctx.principal
        )
        return RetentionNotice.from_pb(response.notice) if response.HasField("notice") else None
