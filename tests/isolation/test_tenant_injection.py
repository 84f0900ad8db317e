"""Tenant-context injection and mass assignment (RELIABILITY I6): tenant A's requests, dressed with every
tenant field a client could add (headers, gRPC metadata, GraphQL arguments, variables and input fields,
unsigned or wrongly signed JWT-like tokens) naming tenant B or a would-be "all tenants" sentinel, never
act on B: each is refused (4xx, UNAUTHENTICATED/PERMISSION_DENIED/NOT_FOUND, a GraphQL error) or answered
for A alone, no answer carries any of B's ids, and B's plan, state and objects are unchanged after.

Table-driven: every combination below is sent once (1,197 GraphQL requests, 1,760 gRPC calls).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import time
import uuid
from collections import Counter

import grpc
import httpx
import jwt
import pytest

from services.runtime.principal import Kind, Principal, Role
from services.runtime.tokens import METADATA_KEY
from sfcloud.v1 import query_pb2, query_pb2_grpc, tenancy_pb2, tenancy_pb2_grpc
from tests.control_plane import OPERATOR
from tests.e2e.provision import create_tenant

NO_TENANT = "00000000-0000-0000-0000-000000000000"  # the key space of users in no tenant: never a wildcard
SENTINELS = ["0", "", "null", "*", "all", NO_TENANT]
TENANT_HEADERS = [
    "x-tenant-id",
    "x-tenant",
    "tenant-id",
    "tenant_id",
    "x-sf-tenant",
    "x-forwarded-tenant",
    "x-sf-token",
]
AT_ONCE = 8
REFUSED_CODES = {
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.NOT_FOUND,
}


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def unsigned_token(claims: dict) -> str:
    """A JWT with ``alg: none`` and no signature."""
    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."


def claims_for(tenant: str) -> dict:
    now = int(time.time())
    return {"aud": "sfcloud-internal", "iat": now, "exp": now + 600, "sub": str(uuid.uuid4()), "knd": "user",
            "tid": tenant, "rol": "owner", "op": True, "scp": ["read", "write"], "cel": "default"}  # fmt: skip


def forged_tokens(tenant: str) -> list[str]:
    """Tokens claiming ``tenant`` (and platform operator) that no sfcloud key signed."""
    return [
        unsigned_token(claims_for(tenant)),
        jwt.encode(claims_for(tenant), "not-the-signing-key-" * 2, algorithm="HS256"),
    ]


@pytest.fixture(scope="module")
async def a_and_b(stack, signer):
    """A (enterprise: its API key's rate leaves room for this test) with a read-write key; B with its ids."""
    a = await create_tenant(stack.targets["tenancy"], signer, "injector", plan="enterprise")
    b = await create_tenant(stack.targets["tenancy"], signer, "target", plan="standard")
    owner = Principal(Kind.USER, str(uuid.uuid4()), tenant_id=a.id, role=Role.OWNER)
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
        created = await tenancy_pb2_grpc.TenancyServiceStub(channel).CreateApiKey(
            tenancy_pb2.CreateApiKeyRequest(name="injector", scopes=["read", "write"]),
            metadata=((METADATA_KEY, signer.sign(owner)),),
            timeout=10,
        )
    return a, b, created.key


async def tenant_state(stack, signer, tenant_id) -> tuple:
    """The tenant's plan and subscription state, as the platform operator sees them."""
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
        found = await tenancy_pb2_grpc.TenancyServiceStub(channel).GetTenant(
            tenancy_pb2.GetTenantRequest(tenant_id=str(tenant_id)),
            metadata=((METADATA_KEY, signer.sign(OPERATOR)),),
            timeout=10,
        )
    return found.tenant.plan_code, found.tenant.state


def b_ids(b) -> list[str]:
    return [str(b.id), b.machine_id, *b.series_ids]


def graphql_cases(a, b, key: str) -> list[tuple[dict, dict]]:
    """(headers, body) of every GraphQL request: every injected header, credential and operation."""
    target = str(b.id)
    values = [target, *SENTINELS, f"{a.id},{target}"]
    header_sets = [{}] + [{name: value} for name, value in itertools.product(TENANT_HEADERS, values)]
    credentials = [f"Bearer {key}", *(f"Bearer {t}" for t in forged_tokens(target))]
    operations = [  # the first and third are answered for A (extra variables are ignored); the others refused
        {"query": "query { me { kind tenantId } machines { id name } }",
         "variables": {"tenantId": target, "tenant_id": target}},
        {"query": "query($t: ID!) { machines(tenantId: $t) { id } }", "variables": {"t": target}},
        {"query": "query($ids: [ID!]!) { series(ids: $ids) { id name } }", "variables": {"ids": b.series_ids}},
        {"query": 'mutation($t: ID!) { changePlan(tenantId: $t, planCode: "starter") { __typename } }',
         "variables": {"t": target}},
        {"query": 'mutation($t: ID!) { suspendTenant(tenantId: $t, reason: "injected") { __typename } }',
         "variables": {"t": target}},
        {"query": 'mutation($t: ID!) { createDevice(name: "injected", tenantId: $t) { __typename } }',
         "variables": {"t": target}},
        {"query": "mutation($m: ID!, $t: ID!) { setMachineOeeSettings(input: {machineId: $m, tenantId: $t,"
                  " idealCycleSeconds: 1}) { __typename } }",
         "variables": {"m": b.machine_id, "t": target}},
    ]  # fmt: skip
    return [
        ({"authorization": credential, **headers}, body)
        for headers, credential, body in itertools.product(header_sets, credentials, operations)
    ]


def check_graphql(response: httpx.Response, a, b) -> str:
    """Refused, or answered for A alone; never a server error, never one of B's ids. Which of the two."""
    assert response.status_code in (200, 400, 401, 403), response.text
    assert not any(found in response.text for found in b_ids(b)), response.text
    body = response.json()
    data = body.get("data") or {}
    if "me" in data:
        assert data["me"]["tenantId"] == str(a.id), body
        assert [m["id"] for m in data["machines"]] == [a.machine_id], body
    if "series" in data:
        assert data["series"] == [], body
    for field in ("changePlan", "suspendTenant", "createDevice", "setMachineOeeSettings"):
        assert data.get(field) is None, body
    if data:
        return "answered for A"
    assert response.status_code != 200 or body["errors"], body
    return "refused"


async def test_tenant_fields_in_graphql_requests_never_reach_another_tenant(stack, signer, a_and_b):
    """RELIABILITY I6 (GraphQL): 1,197 requests of A carrying B's id or a sentinel; 0 act on B."""
    a, b, key = a_and_b
    before = await tenant_state(stack, signer, b.id), await tenant_state(stack, signer, a.id)
    cases = graphql_cases(a, b, key)
    turns = asyncio.Semaphore(AT_ONCE)
    outcomes: Counter[str] = Counter()
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client:

        async def send(headers: dict, body: dict) -> None:
            async with turns:
                response = await client.post("/graphql", json=body, headers=headers)
            outcomes[f"{response.status_code} {check_graphql(response, a, b)}"] += 1

        await asyncio.gather(*(send(headers, body) for headers, body in cases))
    print(f"\nI6 GraphQL: {len(cases)} requests, {dict(outcomes)}")
    assert len(cases) >= 1_000
    assert outcomes["200 answered for A"] == 2 * len(cases) // 21  # the valid key's two answerable operations
    assert (await tenant_state(stack, signer, b.id), await tenant_state(stack, signer, a.id)) == before


def grpc_credentials(signer, a, b) -> list[tuple[str, bool, list[str]]]:
    """(token, genuine, ids it must never see) of every caller: A's owner, a signed user of the no-tenant
    key space (who must see neither A's nor B's), and forged tokens for B and each sentinel."""
    owner = Principal(Kind.USER, str(uuid.uuid4()), tenant_id=a.id, role=Role.OWNER)
    no_tenant = Principal(Kind.USER, str(uuid.uuid4()), tenant_id=uuid.UUID(NO_TENANT), role=Role.OWNER)
    forged = [token for tenant in [str(b.id), *SENTINELS] for token in forged_tokens(tenant)]
    a_ids = [str(a.id), a.machine_id, *a.series_ids]
    genuine = [(signer.sign(owner), True, b_ids(b)), (signer.sign(no_tenant), True, b_ids(b) + a_ids)]
    return genuine + [(token, False, []) for token in forged]


async def test_tenant_fields_in_grpc_calls_never_reach_another_tenant(stack, signer, a_and_b):
    """RELIABILITY I6 (gRPC, straight to the services): 1,760 calls; 0 see or change anything of B's."""
    a, b, _ = a_and_b
    before = await tenant_state(stack, signer, b.id)
    target = str(b.id)
    metadata_sets = [()] + [
        ((name, value),)
        for name, value in itertools.product(
            ("x-tenant-id", "tenant-id", "x-sf-tenant"), [target, *SENTINELS]
        )
    ]
    calls, outcomes = 0, Counter()
    async with (
        grpc.aio.insecure_channel(stack.targets["tenancy"]) as tenancy_channel,
        grpc.aio.insecure_channel(stack.targets["analytics"]) as analytics_channel,
    ):
        tenancy = tenancy_pb2_grpc.TenancyServiceStub(tenancy_channel)
        query = query_pb2_grpc.QueryServiceStub(analytics_channel)
        requests = [
            (tenancy.ListAssets, tenancy_pb2.ListAssetsRequest()),
            (tenancy.ListSeries, tenancy_pb2.ListSeriesRequest(machine_ids=[b.machine_id], series_ids=b.series_ids)),
            (tenancy.GetTenant, tenancy_pb2.GetTenantRequest(tenant_id=target)),
            (tenancy.ChangePlan, tenancy_pb2.ChangePlanRequest(tenant_id=target, plan_code="starter")),
            (query.LatestValues, query_pb2.LatestValuesRequest(series_ids=b.series_ids)),
        ]  # fmt: skip
        for (token, genuine, foreign), extra, (method, request) in itertools.product(
            grpc_credentials(signer, a, b), metadata_sets, requests
        ):
            calls += 1
            try:
                answer = await method(request, metadata=((METADATA_KEY, token), *extra), timeout=10)
            except grpc.aio.AioRpcError as e:
                assert e.code() in REFUSED_CODES, (e.code(), e.details())
                assert genuine or e.code() == grpc.StatusCode.UNAUTHENTICATED
                outcomes[e.code().name] += 1
                continue
            assert genuine, f"{method} answered a forged token"
            assert not any(found in str(answer) for found in foreign), answer
            outcomes["answered for the caller"] += 1
    print(f"\nI6 gRPC: {calls} calls, {dict(outcomes)}")
    assert calls >= 600
    assert await tenant_state(stack, signer, b.id) == before
