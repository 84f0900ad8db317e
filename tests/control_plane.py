"""A tenancy client that can speak as any principal the gateway would mint a token for."""

from __future__ import annotations

import contextlib
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc

from services.runtime.principal import Kind, Principal, Role
from services.runtime.settings import ServiceSettings, role_url
from services.runtime.tokens import METADATA_KEY, TokenSigner
from services.tenancy.config import TenancySettings
from services.tenancy.server import TenancyServer
from sfcloud.v1 import tenancy_pb2 as pb
from sfcloud.v1 import tenancy_pb2_grpc

OPERATOR = Principal(Kind.USER, str(uuid.uuid4()), platform_operator=True)


@dataclass
class Tenancy:
    stub: tenancy_pb2_grpc.TenancyServiceStub
    signer: TokenSigner

    def call(self, method: str, request, principal: Principal):
        metadata = ((METADATA_KEY, self.signer.sign(principal)),)
        return getattr(self.stub, method)(request, metadata=metadata, timeout=10)

    async def supplier(self, name: str) -> tuple[pb.Supplier, Principal]:
        """A new supplier and the principal of its admin (as the gateway mints it after login)."""
        supplier = (
            await self.call(
                "CreateSupplier", pb.CreateSupplierRequest(name=f"{name} {secrets.token_hex(3)}"), OPERATOR
            )
        ).supplier
        admin = await self.call(
            "CreateSupplierUser",
            pb.CreateSupplierUserRequest(
                supplier_id=supplier.id,
                email=f"admin-{secrets.token_hex(4)}@supplier.example",
                password="supplier-pass-123",
                display_name="Admin",
                role="admin",
            ),
            OPERATOR,
        )
        return supplier, Principal(Kind.USER, admin.user.id, supplier_id=uuid.UUID(supplier.id))

    def provision(self, tenant_id: str | uuid.UUID, request: pb.CreateUserRequest):
        """An account with the request's password in the tenant, made as only the operator may (a tenant's
        managers invite people instead)."""
        request.tenant_id = str(tenant_id)
        return self.call("CreateUser", request, OPERATOR)

    def owner_of(self, tenant: pb.Tenant) -> Principal:
        """A principal of the tenant's owner, as the gateway mints it after login."""
        return Principal(Kind.USER, str(uuid.uuid4()), tenant_id=uuid.UUID(tenant.id), role=Role.OWNER)

    async def tenant(
        self, creator: Principal, plan: str = "standard", **kwargs
    ) -> tuple[pb.Tenant, Principal]:
        """A new tenant and the principal of its owner."""
        request = pb.CreateTenantRequest(name=f"SME {secrets.token_hex(4)}", plan_code=plan, **kwargs)
        tenant = (await self.call("CreateTenant", request, creator)).tenant
        return tenant, Principal(
            Kind.USER, str(uuid.uuid4()), tenant_id=uuid.UUID(tenant.id), role=Role.OWNER
        )


@contextlib.asynccontextmanager
async def serving_tenancy(
    admin_url: str, signer: TokenSigner, signing_key: str, **settings
) -> AsyncIterator[Tenancy]:
    """A tenancy server of the test's own, with ``settings`` (TenancySettings fields) over the defaults."""
    service = ServiceSettings("tenancy", "127.0.0.1:0", role_url(admin_url, "sf_tenancy", None), signing_key)
    server = TenancyServer(TenancySettings(service, **settings))
    port = await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield Tenancy(tenancy_pb2_grpc.TenancyServiceStub(channel), signer)
    finally:
        await server.stop()


async def rejected(awaitable) -> grpc.aio.AioRpcError:
    try:
        await awaitable
    except grpc.aio.AioRpcError as error:
        return error
    raise AssertionError("the call succeeded")
