"""Creating tenants and streaming telemetry through the public gRPC APIs, as an operator and a device would.

Used by the test suite and by `sf bench`, so both exercise the real protocol."""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass

import grpc

from services.runtime.principal import Kind, Principal, Role
from services.runtime.tokens import METADATA_KEY, TokenSigner
from sfcloud.v1 import ingest_pb2, ingest_pb2_grpc, tenancy_pb2, tenancy_pb2_grpc

OPERATOR = Principal(Kind.USER, str(uuid.uuid4()), platform_operator=True)


@dataclass
class SeededTenant:
    id: uuid.UUID
    owner_email: str
    owner_password: str
    machine_id: str
    series_ids: list[str]
    credential: str


def _metadata(signer: TokenSigner, principal: Principal) -> tuple:
    return ((METADATA_KEY, signer.sign(principal)),)


async def create_tenant(
    tenancy_target: str,
    signer: TokenSigner,
    name: str,
    series_count: int = 3,
    plan: str = "standard",
    machines: int = 1,
    supplier_id: str = "",
) -> SeededTenant:
    """A tenant (resold by ``supplier_id``, if given) with an owner, one site and line, ``machines``
    machines of ``series_count`` series each (``machine_id`` is the first machine; ``series_ids`` holds
    every series, machine by machine), and a device."""
    async with grpc.aio.insecure_channel(tenancy_target) as channel:
        stub = tenancy_pb2_grpc.TenancyServiceStub(channel)
        tenant = (
            await stub.CreateTenant(
                tenancy_pb2.CreateTenantRequest(
                    name=f"{name} {secrets.token_hex(4)}", plan_code=plan, supplier_id=supplier_id
                ),
                metadata=_metadata(signer, OPERATOR),
                timeout=10,
            )
        ).tenant
        owner = Principal(Kind.USER, str(uuid.uuid4()), tenant_id=uuid.UUID(tenant.id), role=Role.OWNER)
        meta = _metadata(signer, owner)
        email, password = f"owner-{secrets.token_hex(4)}@example.com", secrets.token_urlsafe(16)
        await stub.CreateUser(
            tenancy_pb2.CreateUserRequest(
                email=email,
                password=password,
                display_name="Owner",
                role=tenancy_pb2.ROLE_OWNER,
                tenant_id=tenant.id,
            ),
            metadata=_metadata(signer, OPERATOR),
            timeout=10,
        )

        async def asset(parent: str, kind: int, asset_name: str) -> str:
            request = tenancy_pb2.CreateAssetRequest(parent_id=parent, kind=kind, name=asset_name)
            return (await stub.CreateAsset(request, metadata=meta, timeout=10)).asset.id

        line = await asset(
            await asset("", tenancy_pb2.ASSET_KIND_SITE, "Plant"), tenancy_pb2.ASSET_KIND_LINE, "Line 1"
        )
        machine_ids, series_ids = [], []
        for m in range(machines):
            machine_ids.append(await asset(line, tenancy_pb2.ASSET_KIND_MACHINE, f"M-{m + 1}"))
            for i in range(series_count):
                request = tenancy_pb2.CreateSeriesRequest(
                    machine_id=machine_ids[-1], name=f"sensor_{i}", unit="degC", kind="gauge", decimals=3
                )
                series_ids.append((await stub.CreateSeries(request, metadata=meta, timeout=10)).series.id)
        device = await stub.CreateDevice(
            tenancy_pb2.CreateDeviceRequest(name="edge-1"), metadata=meta, timeout=10
        )
    return SeededTenant(uuid.UUID(tenant.id), email, password, machine_ids[0], series_ids, device.credential)


def device_metadata(credential: str) -> tuple:
    return (("authorization", f"Device {credential}"),)


async def send_batches(ingest_target: str, credential: str, batches: list) -> list:
    """Stream the batches on one Ingest session; returns the acknowledgements."""
    async with grpc.aio.insecure_channel(ingest_target) as channel:
        call = ingest_pb2_grpc.IngestServiceStub(channel).Ingest(
            iter(batches), metadata=device_metadata(credential), timeout=120
        )
        return [ack async for ack in call]


async def create_api_key(
    tenancy_target: str, signer: TokenSigner, tenant_id: uuid.UUID, scopes: list[str]
) -> str:
    """A new API key of the tenant, made as its owner; the key itself."""
    owner = Principal(Kind.USER, str(uuid.uuid4()), tenant_id=tenant_id, role=Role.OWNER)
    async with grpc.aio.insecure_channel(tenancy_target) as channel:
        request = tenancy_pb2.CreateApiKeyRequest(name=f"key-{secrets.token_hex(3)}", scopes=scopes)
        stub = tenancy_pb2_grpc.TenancyServiceStub(channel)
        return (await stub.CreateApiKey(request, metadata=_metadata(signer, owner), timeout=10)).key


def one_value_each(series_ids: list[str], value: float, batch_no: int = 1) -> ingest_pb2.IngestRequest:
    """A batch giving every series one point now: each then has a latest value."""
    now = time.time_ns()
    points = [ingest_pb2.SeriesPoints(series_id=s, timestamps_ns=[now], values=[value]) for s in series_ids]
    return ingest_pb2.IngestRequest(batch_no=batch_no, series=points)
