"""Two database cells (two PostgreSQL servers): each tenant's telemetry lives on its own cell, reads and
writes route there, and tenants on either cell stay correct and isolated."""

from __future__ import annotations

import secrets
import time
import uuid

import grpc
import psycopg
import pytest

from gateway.graphql.scalars import format_timestamp
from services.runtime.principal import Kind, Principal, Role
from services.runtime.tokens import METADATA_KEY
from sf.embedded import EmbeddedPostgres
from sf.inprocess import InProcessStack
from sf.migrate import migrate
from sf.seeding import send_batches
from sfcloud.v1 import tenancy_pb2 as pb
from sfcloud.v1 import tenancy_pb2_grpc
from tests.control_plane import OPERATOR
from tests.e2e.provision import GraphQLClient
from tests.e2e.test_bad_input import batch

POINTS = "query ($id: ID!, $from: Timestamp!, $to: Timestamp!) { points(seriesId: $id, from: $from, to: $to) { values } }"


@pytest.fixture(scope="module")
async def two_cells(data_dir, admin_url, redis_url, signing_key):
    second = EmbeddedPostgres(data_dir / "postgres-cell-b")
    cell_b = second.start()
    migrate(admin_url, cells={"cell_b": cell_b})
    stack = await InProcessStack(admin_url, redis_url, signing_key, cells={"cell_b": cell_b}).start()
    yield stack, cell_b
    await stack.stop()
    second.stop()


async def tenant_on(stack, signer, cell: str) -> tuple[pb.Tenant, str, str, str]:
    """A tenant on a cell with one series, a device and an owner who can sign in."""
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
        stub = tenancy_pb2_grpc.TenancyServiceStub(channel)

        def as_(principal):
            return ((METADATA_KEY, signer.sign(principal)),)

        tenant = (
            await stub.CreateTenant(
                pb.CreateTenantRequest(
                    name=f"Cell {cell} {secrets.token_hex(3)}", plan_code="pro", cell=cell
                ),
                metadata=as_(OPERATOR),
                timeout=10,
            )
        ).tenant
        owner = Principal(Kind.USER, "setup", tenant_id=uuid.UUID(tenant.id), role=Role.OWNER)
        email, password = f"o-{secrets.token_hex(4)}@example.com", "a-long-password"
        await stub.CreateUser(
            pb.CreateUserRequest(
                email=email, password=password, display_name="O", role=pb.ROLE_OWNER, tenant_id=tenant.id
            ),
            metadata=as_(OPERATOR),
            timeout=10,
        )
        parent = ""
        for kind in (pb.ASSET_KIND_SITE, pb.ASSET_KIND_LINE, pb.ASSET_KIND_MACHINE):
            parent = (
                await stub.CreateAsset(
                    pb.CreateAssetRequest(parent_id=parent, kind=kind, name="A"),
                    metadata=as_(owner),
                    timeout=10,
                )
            ).asset.id
        series = (
            await stub.CreateSeries(
                pb.CreateSeriesRequest(machine_id=parent, name="t", unit="", kind="gauge"),
                metadata=as_(owner),
                timeout=10,
            )
        ).series.id
        credential = (
            await stub.CreateDevice(pb.CreateDeviceRequest(name="edge"), metadata=as_(owner), timeout=10)
        ).credential
    return tenant, series, credential, f"{email}\n{password}"


async def test_each_tenants_telemetry_lives_on_its_cell(two_cells, signer, admin_url):
    stack, cell_b = two_cells
    results = {}
    for cell, value in (("default", 1.5), ("cell_b", 2.5)):
        tenant, series, credential, login = await tenant_on(stack, signer, cell)
        assert tenant.cell == cell
        now = time.time_ns()
        await send_batches(stack.targets["ingest"], credential, [batch(series, [now], [value])])
        client = await GraphQLClient.login(stack.gateway_url, *login.split("\n"))
        around = {"from": format_timestamp(now - 3600 * 10**9), "to": format_timestamp(now + 3600 * 10**9)}
        try:
            assert (await client.query(POINTS, id=series, **around))["data"]["points"]["values"] == [value]
        finally:
            await client.close()
        results[cell] = tenant.id
    for url, here, elsewhere in ((admin_url, "default", "cell_b"), (cell_b, "cell_b", "default")):
        with psycopg.connect(url) as conn:
            tenants = {
                str(t) for (t,) in conn.execute("SELECT DISTINCT tenant_id FROM telemetry.blocks").fetchall()
            }
        assert results[here] in tenants and results[elsewhere] not in tenants


async def test_only_configured_cells_and_only_the_operator(two_cells, tenancy):
    _, staff = await tenancy.supplier("Cells SI")
    error = await tenancy_error(
        tenancy.call("CreateTenant", pb.CreateTenantRequest(name="X", plan_code="pro", cell="mars"), OPERATOR)
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "no cell 'mars'" in error.details()
    error = await tenancy_error(
        tenancy.call("CreateTenant", pb.CreateTenantRequest(name="Y", plan_code="pro", cell="cell_b"), staff)
    )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED


async def tenancy_error(awaitable) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await awaitable
    return caught.value
