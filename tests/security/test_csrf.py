"""RELIABILITY A4: a mutation carried by the session cookie alone is refused in every form a foreign page can
send it (no token, a wrong token, a foreign or `null` Origin, text/plain, form-encoded, GET), and none of them
changes anything; the same mutation with the session's token from our own origin goes through."""

from __future__ import annotations

import json

from sfcloud.v1 import tenancy_pb2 as pb
from tests.control_plane import OPERATOR
from tests.e2e.provision import GraphQLClient

CREATE = 'mutation { createApiKey(name: "csrf", scopes: [READ]) { key } }'


def _keys(admin_conn, tenant_id: str) -> int:
    return admin_conn.execute(
        "SELECT count(*) FROM tenancy.api_keys WHERE tenant_id = %s", [tenant_id]
    ).fetchone()[0]


async def test_cookie_mutations_without_the_token_are_refused_and_change_nothing(stack, tenancy, admin_conn):
    tenant, _ = await tenancy.tenant(OPERATOR)
    email, password = f"csrf-{tenant.id[:8]}@example.com", "a-long-password"
    await tenancy.provision(
        tenant.id,
        pb.CreateUserRequest(email=email, password=password, display_name="C", role=pb.ROLE_ADMIN),
    )
    client = await GraphQLClient.login(stack.gateway_url, email, password)
    body = json.dumps({"query": CREATE})
    try:
        attempts = {
            "no token": client.http.post(
                "/graphql", content=body, headers={"content-type": "application/json"}
            ),
            "wrong token": client.http.post(
                "/graphql", json={"query": CREATE}, headers={"x-csrf-token": "x" * 43}
            ),
            "foreign origin": client.http.post(
                "/graphql",
                json={"query": CREATE},
                headers={"x-csrf-token": client.csrf, "origin": "https://evil.example"},
            ),
            "null origin": client.http.post(
                "/graphql", json={"query": CREATE}, headers={"x-csrf-token": client.csrf, "origin": "null"}
            ),
            "text/plain": client.http.post("/graphql", content=body, headers={"content-type": "text/plain"}),
            "form": client.http.post("/graphql", data={"query": CREATE}),
            "GET": client.http.get("/graphql", params={"query": CREATE}),
        }
        statuses = {name: (await attempt).status_code for name, attempt in attempts.items()}
        assert {name: status for name, status in statuses.items() if status not in (400, 403, 405)} == {}
        assert _keys(admin_conn, tenant.id) == 0
        made = await client.query(CREATE)
        assert made["data"]["createApiKey"]["key"].startswith("sfk_") and _keys(admin_conn, tenant.id) == 1
    finally:
        await client.close()
    print(f"\nA4: {statuses}")
