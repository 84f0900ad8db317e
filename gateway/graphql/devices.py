"""The tenant's devices and what each did last: when it sent, how late, what was refused and why."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from gateway.graphql.permissions import CanReadTenant, IsSignedIn
from gateway.graphql.scalars import Timestamp
from sfcloud.v1 import query_pb2, tenancy_pb2


@strawberry.type(description="The last batch a device had refused, and why.")
class Refusal:
    at: Timestamp
    reason: str = strawberry.field(
        description="A stable reason, e.g. MALFORMED_BATCH, UNKNOWN_SERIES, RATE_LIMITED."
    )
    message: str = strawberry.field(description="What the device was told.")


@strawberry.type(description="An edge device or machine that sends telemetry.")
class Device:
    id: strawberry.ID
    name: str
    created_at: Timestamp = strawberry.field(description="When it was registered.")
    revoked: bool = strawberry.field(description="True once its credential was revoked.")
    last_batch_at: Timestamp | None = strawberry.field(
        description="When its last batch was stored; null if never."
    )
    last_point_at: Timestamp | None = strawberry.field(description="The time of its newest point.")
    late_points: int = strawberry.field(
        description="Points that were more than an hour old when they arrived."
    )
    refused_batches: int = strawberry.field(description="Batches refused from this device.")
    last_refusal: Refusal | None = strawberry.field(description="The last refused batch, if any.")


def _device(record: tenancy_pb2.DeviceRecord, activity: query_pb2.DeviceActivity | None) -> Device:
    a = activity or query_pb2.DeviceActivity()
    refusal = Refusal(at=a.last_refusal_ns, reason=a.last_refusal_reason, message=a.last_refusal_message)
    return Device(
        id=strawberry.ID(record.id),
        name=record.name,
        created_at=record.created_ns,
        revoked=record.revoked,
        last_batch_at=a.last_batch_ns or None,
        last_point_at=a.last_point_ns or None,
        late_points=a.late_points,
        refused_batches=a.refused_batches,
        last_refusal=refusal if a.last_refusal_ns else None,
    )


@strawberry.type
class DeviceQuery:
    @strawberry.field(
        permission_classes=[IsSignedIn, CanReadTenant], description="The tenant's devices and their activity."
    )
    async def devices(self, info: Info) -> list[Device]:
        ctx = info.context
        listed = await ctx.backends.call(
            ctx.backends.tenancy.ListDevices, tenancy_pb2.ListDevicesRequest(), ctx.principal
        )
        activity = await ctx.backends.call(
            ctx.backends.query.DeviceActivity, query_pb2.DeviceActivityRequest(), ctx.principal
        )
        by_device = {a.device_id: a for a in activity.devices}
        return [_device(d, by_device.get(d.id)) for d in listed.devices]
