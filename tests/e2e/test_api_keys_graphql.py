"""A developer's first step: a signed-in manager makes an API key in GraphQL, sees it once, uses it,
lists and revokes it; mistakes come back as typed user errors beside the field."""

from __future__ import annotations

import asyncio
import time

import httpx

from tests.e2e.provision import GraphQLClient, create_tenant

CREATE = """mutation($name: String!, $scopes: [ApiKeyScope!]!, $days: Int! = 0) {
  createApiKey(name: $name, scopes: $scopes, expiresInDays: $days) {
    key apiKey { id name prefix scopes expiresAt revoked } errors { field code message }
  }
}"""


async def as_key(base_url: str, key: str, query: str) -> dict:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        response = await http.post(
            "/graphql", json={"query": query}, headers={"authorization": f"Bearer {key}"}
        )
    return response.json()


async def test_create_use_list_and_revoke_a_key(stack, signer):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Keys in GraphQL")
    owner = await GraphQLClient.login(stack.gateway_url, tenant.owner_email, tenant.owner_password)
    try:
        made = (await owner.query(CREATE, name="dashboard", scopes=["READ"], days=30))["data"]["createApiKey"]
        assert made["errors"] == [] and made["apiKey"]["prefix"] in made["key"]
        assert made["apiKey"]["scopes"] == ["READ"] and made["apiKey"]["expiresAt"] is not None
        used = await as_key(stack.gateway_url, made["key"], "{ me { kind tenantId } }")
        assert used["data"]["me"] == {"kind": "api_key", "tenantId": str(tenant.id)}

        listed = (await owner.query("{ apiKeys { id prefix lastUsedAt revoked } }"))["data"]["apiKeys"]
        [entry] = [k for k in listed if k["id"] == made["apiKey"]["id"]]
        assert made["key"] not in str(listed) and entry["lastUsedAt"] is not None  # shown once only

        revoke = "mutation($id: ID!) { revokeApiKey(id: $id) { revoked errors { code } } }"
        done = (await owner.query(revoke, id=made["apiKey"]["id"]))["data"]["revokeApiKey"]
        assert done == {"revoked": True, "errors": []}
        deadline = time.monotonic() + 7  # the gateway remembers a key for up to 5 s
        while "errors" not in (refused := await as_key(stack.gateway_url, made["key"], "{ me { kind } }")):
            assert time.monotonic() < deadline, "the revoked key still works"
            await asyncio.sleep(0.5)
        assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    finally:
        await owner.close()


async def test_mistakes_are_user_errors_beside_their_field(stack, signer):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Key mistakes")
    owner = await GraphQLClient.login(stack.gateway_url, tenant.owner_email, tenant.owner_password)
    try:
        for variables, field in (
            ({"name": " ", "scopes": ["READ"]}, "name"),
            ({"name": "k", "scopes": []}, "scopes"),
            ({"name": "k", "scopes": ["READ"], "days": 4000}, "expiresInDays"),
            ({"name": "k", "scopes": ["READ"], "days": -1}, "expiresInDays"),
        ):
            payload = (await owner.query(CREATE, **variables))["data"]["createApiKey"]
            assert payload["key"] is None and payload["apiKey"] is None, variables
            assert [e["field"] for e in payload["errors"]] == [field], payload
            assert payload["errors"][0]["code"] and payload["errors"][0]["message"]
        missing = 'mutation { revokeApiKey(id: "00000000-0000-0000-0000-000000000000") { revoked errors { field code } } }'
        gone = (await owner.query(missing))["data"]["revokeApiKey"]
        assert gone["revoked"] is False and gone["errors"][0]["code"].endswith("NOT_FOUND")
    finally:
        await owner.close()


async def test_another_tenant_cannot_revoke_a_key_and_a_key_cannot_make_keys(stack, signer):
    a = await create_tenant(stack.targets["tenancy"], signer, "Keys A")
    b = await create_tenant(stack.targets["tenancy"], signer, "Keys B")
    owner_a = await GraphQLClient.login(stack.gateway_url, a.owner_email, a.owner_password)
    owner_b = await GraphQLClient.login(stack.gateway_url, b.owner_email, b.owner_password)
    try:
        made = (await owner_a.query(CREATE, name="a's", scopes=["READ"]))["data"]["createApiKey"]
        revoke = "mutation($id: ID!) { revokeApiKey(id: $id) { revoked errors { code } } }"
        attempt = (await owner_b.query(revoke, id=made["apiKey"]["id"]))["data"]["revokeApiKey"]
        assert attempt["revoked"] is False and attempt["errors"][0]["code"].endswith("NOT_FOUND")
        still = await as_key(stack.gateway_url, made["key"], "{ me { tenantId } }")
        assert still["data"]["me"]["tenantId"] == str(a.id)
        by_key = await as_key(
            stack.gateway_url, made["key"], 'mutation { createApiKey(name: "x", scopes: [READ]) { key } }'
        )
        assert by_key["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    finally:
        await owner_a.close()
        await owner_b.close()
