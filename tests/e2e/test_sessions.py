"""A signed-in user lists their browser sessions and ends any of them; an ended session is refused at once."""

from __future__ import annotations

from sfcloud.v1 import tenancy_pb2 as pb
from tests.control_plane import OPERATOR
from tests.e2e.provision import GraphQLClient

LIST = "{ sessions { id current userAgent } }"
REVOKE = "mutation ($id: ID!) { revokeSession(id: $id) { revoked } }"


async def test_list_and_revoke_sessions(stack, tenancy):
    """RELIABILITY A3: A revoked session is refused at once; cookie attributes checked at sign-in (tests/e2e/provision.py)."""
    tenant, _ = await tenancy.tenant(OPERATOR)
    email, password = f"s-{tenant.id[:8]}@example.com", "a-long-password"
    await tenancy.provision(
        tenant.id,
        pb.CreateUserRequest(email=email, password=password, display_name="S", role=pb.ROLE_VIEWER),
    )
    laptop = await GraphQLClient.login(stack.gateway_url, email, password)
    phone = await GraphQLClient.login(stack.gateway_url, email, password)
    try:
        sessions = (await laptop.query(LIST))["data"]["sessions"]
        assert len(sessions) == 2 and [s["current"] for s in sessions].count(True) == 1
        other = next(s["id"] for s in sessions if not s["current"])
        assert (await laptop.query(REVOKE, id=other))["data"]["revokeSession"] == {"revoked": True}
        refused = await phone.http.post(
            "/graphql", json={"query": LIST}, headers={"x-csrf-token": phone.csrf}
        )
        assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert len((await laptop.query(LIST))["data"]["sessions"]) == 1
        assert (await laptop.query(REVOKE, id="not-mine"))["data"]["revokeSession"] == {"revoked": False}
    finally:
        await laptop.close()
        await phone.close()
