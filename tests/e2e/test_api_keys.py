"""Developers call the GraphQL API with `Authorization: Bearer <API key>`: scoped, no CSRF needed,
refused once revoked."""

from __future__ import annotations

import asyncio
import time

import httpx

from sfcloud.v1 import tenancy_pb2 as pb
from tests.control_plane import OPERATOR


async def graphql(base_url: str, key: str, query: str) -> tuple[int, dict]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        response = await http.post(
            "/graphql", json={"query": query}, headers={"authorization": f"Bearer {key}"}
        )
        return response.status_code, response.json()


async def test_a_read_key_queries_its_tenant(stack, tenancy):
    tenant, owner = await tenancy.tenant(OPERATOR)
    key = (
        await tenancy.call("CreateApiKey", pb.CreateApiKeyRequest(name="dash", scopes=["read"]), owner)
    ).key
    status, body = await graphql(
        stack.gateway_url, key, "{ me { kind tenantId scopes email } machines { id } }"
    )
    assert status == 200, body
    assert body["data"]["me"] == {"kind": "api_key", "tenantId": tenant.id, "scopes": ["read"], "email": None}
    assert body["data"]["machines"] == []


async def test_a_key_without_the_read_scope_is_forbidden(stack, tenancy):
    _, owner = await tenancy.tenant(OPERATOR)
    key = (
        await tenancy.call("CreateApiKey", pb.CreateApiKeyRequest(name="edge", scopes=["ingest"]), owner)
    ).key
    status, body = await graphql(stack.gateway_url, key, "{ machines { id } }")
    assert status == 200
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_unknown_and_revoked_keys_are_unauthenticated(stack, tenancy):
    """RELIABILITY A5: Unknown keys are refused; a revoked key within 5 s."""
    _, owner = await tenancy.tenant(OPERATOR)
    created = await tenancy.call("CreateApiKey", pb.CreateApiKeyRequest(name="gone", scopes=["read"]), owner)
    status, body = await graphql(stack.gateway_url, "sfk_nothing", "{ me { kind } }")
    assert status == 401 and body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await graphql(stack.gateway_url, created.key, "{ me { kind } }"))[0] == 200
    await tenancy.call("RevokeApiKey", pb.RevokeApiKeyRequest(key_id=created.api_key.id), owner)
    deadline = time.monotonic() + 7  # the gateway remembers a key for up to 5 s
    while (status := (await graphql(stack.gateway_url, created.key, "{ me { kind } }"))[0]) == 200:
        assert time.monotonic() < deadline, "the revoked key still works"
        await asyncio.sleep(0.5)
    assert status == 401
