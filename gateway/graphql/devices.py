"""The tenant's devices and what each did last: when it sent, how late, what was refused and why; and
registering, re-keying and revoking them (tenancy checks the role and the plan's number of devices)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from gateway.graphql.payloads import UserError, attempt
from gateway.graphql.permissions import CanReadTenant, IsSignedIn, IsTenantUser
from gateway.graphql.scalars import Timestamp
from services.runtime import errors
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


@strawberry.type(description="A device's new credential (shown only here), or why there is none.")
class DeviceCredentialPayload:
    device_id: strawberry.ID | None
    credential: str | None = strawberry.field(
        description="The device's credential: store it on the device now (sfcloud keeps only its hash)."
    )
    errors: list[UserError] = strawberry.field(description="Empty when it worked.")


@strawberry.type(description="The outcome of revoking a device.")
class RevokeDevicePayload:
    revoked: bool
    errors: list[UserError] = strawberry.field(description="Empty when the device was revoked.")


@strawberry.type
class DeviceMutation:
    @strawberry.mutation(
        permission_classes=[IsTenantUser],
        description="Register a device (owners and admins; within the plan's number of devices).",
    )
    async def create_device(self, info: Info, name: str) -> DeviceCredentialPayload:
        ctx = info.context
        made, problems = await attempt(
            ctx.backends.call(
                ctx.backends.tenancy.CreateDevice, tenancy_pb2.CreateDeviceRequest(name=name), ctx.principal
            ),
            also=(errors.ResourceExhausted,),
        )
        if made is None:
            return DeviceCredentialPayload(device_id=None, credential=None, errors=problems)
        return DeviceCredentialPayload(
            device_id=strawberry.ID(made.device.id), credential=made.credential, errors=[]
        )

    @strawberry.mutation(
        permission_classes=[IsTenantUser],
        description="Give a device a new credential; the old one stops working at once.",
    )
    async def rotate_device_credential(self, info: Info, id: strawberry.ID) -> DeviceCredentialPayload:
        ctx = info.context
        request = tenancy_pb2.RotateDeviceCredentialRequest(device_id=str(id))
        made, problems = await attempt(
            ctx.backends.call(ctx.backends.tenancy.RotateDeviceCredential, request, ctx.principal)
        )
        if made is None:
            return DeviceCredentialPayload(device_id=None, credential=None, errors=problems)
        return DeviceCredentialPayload(device_id=id, credential=made.credential, errors=[])

    @strawberry.mutation(
        permission_classes=[IsTenantUser], description="Revoke a device: its credential stops working."
    )
    async def revoke_device(self, info: Info, id: strawberry.ID) -> RevokeDevicePayload:
        ctx = info.context
        request = tenancy_pb2.RevokeDeviceRequest(device_id=str(id))
        done, problems = await attempt(
            ctx.backends.call(ctx.backends.tenancy.RevokeDevice, request, ctx.principal)
        )
        return RevokeDevicePayload(revoked=done is not None, errors=problems)
