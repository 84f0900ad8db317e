"""GraphQL over HTTP (https://graphql.github.io/graphql-over-http/) and automatic persisted
queries, with httpx against the real gateway."""

from __future__ import annotations

import hashlib
import json
import uuid

import redis

from gateway.graphql.persisted import PersistedQueries
from gateway.graphql.view import json_body
from services.runtime.keys import tenant_key
from tests.gateway.conftest import SMALL

GRAPHQL_RESPONSE = "application/graphql-response+json"
REVOKE = 'mutation Revoke { revokeSession(id: "nothing") { __typename } }'


def persisted(sha: str) -> dict:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha}}


async def test_queries_by_get_and_post_mutations_only_by_post(developer):
    async with developer.client() as client:
        response = await client.get("/graphql", params={"query": SMALL})
        assert response.status_code == 200 and response.headers["content-type"] == "application/json"
        assert response.json()["data"]["me"]["tenantId"] == str(developer.tenant.id)
        response = await client.get("/graphql", params={"query": REVOKE})
        assert response.status_code == 405 and response.headers["allow"] == "GET, POST"
        response = await client.post("/graphql", json={"query": REVOKE})
        assert response.status_code == 200  # a key may not revoke sessions: a field error, not an HTTP one
        assert response.json()["errors"][0]["extensions"]["code"] in {"FORBIDDEN", "UNAUTHENTICATED"}


async def test_graphql_response_json_when_asked_with_400_for_request_errors(developer):
    async with developer.client(accept=f"{GRAPHQL_RESPONSE}, application/json;q=0.9") as client:
        response = await client.post("/graphql", json={"query": SMALL})
        assert response.status_code == 200 and response.headers["content-type"] == GRAPHQL_RESPONSE
        assert response.json()["data"]["me"]["kind"] == "api_key"
        for bad in ("{ me { kind ", "{ nothing }", "query($n: Int!) { me { kind } }"):
            response = await client.post("/graphql", json={"query": bad})
            assert response.status_code == 400, (bad, response.text)
            assert response.headers["content-type"] == GRAPHQL_RESPONSE
            assert "data" not in response.json()
        response = await client.post("/graphql", json={"query": '{ series(ids: ["x"]) { id } }'})
        assert response.status_code == 200  # executed: a field error keeps 200 and its data entry
        assert "data" in response.json()


async def test_application_json_keeps_200_for_graphql_errors(developer):
    async with developer.client() as client:
        response = await client.post("/graphql", json={"query": "{ nothing }"})
        assert response.status_code == 200 and response.headers["content-type"] == "application/json"
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        response = await client.post(
            "/graphql", content="{ me { kind } }", headers={"content-type": "text/plain"}
        )
        assert response.status_code == 400


async def test_automatic_persisted_queries(developer, redis_url):
    sha = hashlib.sha256(SMALL.encode()).hexdigest()
    async with developer.client() as client:
        response = await client.post("/graphql", json={"extensions": persisted(sha)})
        assert response.status_code == 200
        assert response.json() == {
            "errors": [
                {"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}
            ]
        }
        response = await client.post("/graphql", json={"query": SMALL, "extensions": persisted(sha)})
        assert response.json()["data"]["me"]["kind"] == "api_key"
        response = await client.post("/graphql", json={"extensions": persisted(sha)})
        assert response.json()["data"]["me"]["kind"] == "api_key"
        response = await client.get("/graphql", params={"extensions": json.dumps(persisted(sha))})
        assert response.json()["data"]["me"]["kind"] == "api_key"  # GET, as Apollo clients send them
        wrong = await client.post("/graphql", json={"query": "{ me { kind } }", "extensions": persisted(sha)})
        assert wrong.json()["errors"][0]["message"] == "provided sha256Hash does not match the query"
        malformed = await client.post(
            "/graphql", json={"extensions": {"persistedQuery": {"sha256Hash": sha}}}
        )
        assert malformed.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    stored = redis.Redis.from_url(redis_url)
    assert stored.hget(tenant_key(developer.tenant.id, "apq"), sha).decode() == SMALL
    assert 0 < stored.ttl(tenant_key(developer.tenant.id, "apq")) <= 7 * 86_400


async def test_a_persisted_query_is_its_tenants_only(developer, stack, signer, tenancy):
    """RELIABILITY I5: A persisted query is stored under its tenant's key only."""
    from tests.gateway.conftest import new_developer

    other = await new_developer(stack, signer, tenancy, stack.gateway_url)
    query = "query Mine { me { scopes } }"
    sha = hashlib.sha256(query.encode()).hexdigest()
    async with developer.client() as client:
        await client.post("/graphql", json={"query": query, "extensions": persisted(sha)})
    async with other.client() as client:
        response = await client.post("/graphql", json={"extensions": persisted(sha)})
    assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_each_tenant_keeps_its_most_recently_used_queries_only(redis_url):
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis_url)
    store, tenant = PersistedQueries(client, max_queries=3), uuid.uuid4()
    queries = [f"{{ a{i}: __typename }}" for i in range(5)]
    hashes = [hashlib.sha256(q.encode()).hexdigest() for q in queries]
    for query, sha in list(zip(queries, hashes, strict=True))[:3]:
        await store.resolve(tenant, sha, query)
    assert await store.resolve(tenant, hashes[0], None) == queries[0]  # used: now the most recent
    for query, sha in list(zip(queries, hashes, strict=True))[3:]:
        await store.resolve(tenant, sha, query)
    found = [await store.resolve(tenant, sha, None) for sha in hashes]
    assert found == [queries[0], None, None, queries[3], queries[4]]
    assert await client.hlen(tenant_key(tenant, "apq")) == 3
    await client.aclose()


def test_answers_are_json_whatever_their_integers():
    """orjson writes answers; a refused query's cost past 64 bits goes through the standard library instead."""
    for answer in ({"data": {"v": [1.5, None, 2**62]}}, {"errors": [{"extensions": {"cost": 3**50}}]}):
        assert json.loads(json_body(answer)) == answer
