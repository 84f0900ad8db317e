"""A signed-in browser-like GraphQL client for the tests; tenants come from `sf.seeding`."""

from __future__ import annotations

import httpx

from sf.seeding import create_tenant, device_metadata, send_batches

__all__ = ["GraphQLClient", "create_tenant", "device_metadata", "send_batches"]


def session_cookie(login_response: httpx.Response) -> str:
    """The `name=value` of the session cookie a successful sign-in set."""
    header = login_response.headers["set-cookie"]
    assert "HttpOnly" in header and "SameSite=lax" in header and "Path=/" in header, header
    return header.split(";", 1)[0]


class GraphQLClient:
    """A signed-in browser-like client: session cookie plus the CSRF header."""

    def __init__(self, http: httpx.AsyncClient, csrf: str) -> None:
        self.http = http
        self.csrf = csrf

    @classmethod
    async def login(cls, base_url: str, email: str, password: str) -> GraphQLClient:
        http = httpx.AsyncClient(base_url=base_url, timeout=60)
        response = await http.post("/login", data={"email": email, "password": password})
        assert response.status_code == 303, response.text
        # The session cookie is `__Host-` and Secure: browsers send it to http://localhost, httpx does not.
        http.headers["cookie"] = session_cookie(response)
        session = (await http.get("/api/session")).json()
        return cls(http, session["csrfToken"])

    async def query(self, query: str, **variables) -> dict:
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers={"x-csrf-token": self.csrf}
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def close(self) -> None:
        await self.http.aclose()
