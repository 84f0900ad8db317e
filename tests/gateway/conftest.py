"""A developer of a starter-plan tenant (a plant, a machine, three series) with a read API key,
and a second gateway whose catalog gives the starter plan tight API limits."""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from gateway.app import server_config
from services.runtime.principal import Kind, Principal, Role
from services.tenancy.catalog import catalog_with_quotas
from sf.inprocess import QuietServer
from sf.seeding import SeededTenant, create_tenant
from sfcloud.v1 import tenancy_pb2 as pb

SMALL = "query Small { me { kind tenantId } }"
TIGHT_RATE = 5  # requests a minute of the standard plan in the tight catalog
TIGHT_LIVE = {  # of the pro plan in the tight catalog
    "live_connections": 2,
    "live_subscriptions_per_connection": 2,
    "live_subscribes_per_minute": 4,
}
TIGHT_QUOTAS = {  # of the starter plan in the tight catalog
    "graphql_max_depth": 3,
    "graphql_max_aliases": 2,
    "graphql_max_tokens": 200,
    "graphql_max_cost": 100,
}


@dataclasses.dataclass
class Developer:
    tenant: SeededTenant
    key: str
    base_url: str

    def client(self, base_url: str | None = None, **headers: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=base_url or self.base_url,
            headers={"authorization": f"Bearer {self.key}", **headers},
            timeout=30,
        )


async def new_developer(stack, signer, tenancy, base_url: str, plan: str = "starter") -> Developer:
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Developer", plan=plan)
    owner = Principal(Kind.USER, str(uuid.uuid4()), tenant_id=tenant.id, role=Role.OWNER)
    created = await tenancy.call("CreateApiKey", pb.CreateApiKeyRequest(name="dev", scopes=["read"]), owner)
    return Developer(tenant, created.key, base_url)


@pytest.fixture
async def developer(stack, signer, tenancy) -> Developer:
    return await new_developer(stack, signer, tenancy, stack.gateway_url)


async def serves(client: httpx.AsyncClient) -> None:
    """The gateway still answers a normal query."""
    response = await client.post("/graphql", json={"query": SMALL})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["me"]["kind"] == "api_key"


def tight_catalog(folder: Path) -> Path:
    """A copy of the catalog whose starter plan has tight operation limits, standard tight request rates
    and pro tight live limits."""
    standard = {"api_requests_per_minute": TIGHT_RATE, "session_requests_per_minute": TIGHT_RATE}
    return catalog_with_quotas(folder, {"starter": TIGHT_QUOTAS, "standard": standard, "pro": TIGHT_LIVE})


@contextlib.asynccontextmanager
async def another_gateway(stack, **overrides: object) -> AsyncIterator[str]:
    """Another gateway process's worth (its own app and Redis pool) on the same services, its settings the
    stack's with ``overrides``; its base URL."""
    settings = dataclasses.replace(stack.gateway_settings(), **overrides)
    server = QuietServer(server_config(settings))
    task = await server.start_serving()
    try:
        yield f"http://{settings.host}:{settings.port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture(scope="module")
async def tight_gateway(stack, tmp_path_factory) -> str:
    """Another gateway on the same services, reading the tight catalog."""
    async with another_gateway(stack, catalog_dir=tight_catalog(tmp_path_factory.mktemp("catalog"))) as url:
        yield url
