"""GraphiQL is behind sign-in, and a signed-in page sends the session's CSRF token with its queries."""

from __future__ import annotations

import httpx

from sfcloud.v1 import tenancy_pb2 as pb
from tests.control_plane import OPERATOR
from tests.e2e.provision import GraphQLClient, create_tenant, session_cookie

HTML = {"accept": "text/html"}


async def test_graphiql_asks_a_stranger_to_sign_in_and_comes_back_after(stack, signer):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "GraphiQL")
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as http:
        refused = await http.get("/graphql", headers=HTML)
        assert (refused.status_code, refused.headers["location"]) == (303, "/login?next=/graphql")
        page = await http.get(refused.headers["location"])
        assert 'name="next" value="/graphql"' in page.text
        form = {"email": tenant.owner_email, "password": tenant.owner_password, "next": "/graphql"}
        signed_in = await http.post("/login", data=form)
        assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/graphql")
        for elsewhere in ("//evil.example/", "https://evil.example/"):  # never an open redirect
            again = await http.post("/login", data=form | {"next": elsewhere})
            assert again.headers["location"] == "/"
        http.headers["cookie"] = session_cookie(signed_in)
        ide = await http.get("/graphql", headers=HTML)
    assert ide.status_code == 200 and "graphiql" in ide.text.lower()


async def test_the_signed_in_page_carries_the_csrf_header_its_queries_need(stack, signer):
    """RELIABILITY A4: The signed-in page sends the session's CSRF token with its queries."""
    tenant = await create_tenant(stack.targets["tenancy"], signer, "GraphiQL CSRF")
    client = await GraphQLClient.login(stack.gateway_url, tenant.owner_email, tenant.owner_password)
    try:
        ide = await client.http.get("/graphql", headers=HTML)
        assert f'const csrfToken = "{client.csrf}";' in ide.text
        assert 'defaultHeaders["x-csrf-token"] = csrfToken;' in ide.text
        body = await client.query("{ me { email } }")  # what the page's fetcher then sends
        assert body["data"]["me"]["email"] == tenant.owner_email
    finally:
        await client.close()


async def test_an_api_key_caller_gets_the_page_without_a_session_token(stack, tenancy):
    _tenant, owner = await tenancy.tenant(OPERATOR)
    key = (await tenancy.call("CreateApiKey", pb.CreateApiKeyRequest(name="ide", scopes=["read"]), owner)).key
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as http:
        ide = await http.get("/graphql", headers=HTML | {"authorization": f"Bearer {key}"})
    assert ide.status_code == 200 and 'Cookies.get("csrftoken")' in ide.text  # no session, no token
