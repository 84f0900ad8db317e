"""An idle keep-alive connection outlives a client's own idle timeout, so the client closes it first.

When the server closes an idle connection just as a client sends on it, the request fails with no answer
(httpx: ReadError). uvicorn closes after 5 s by default, httpx after 5 s too: the soak met that race
twice in 105,000 queries. The gateway keeps an idle connection 75 s (`SF_GATEWAY_KEEP_ALIVE_S`)."""

from __future__ import annotations

import asyncio

import httpx


async def test_a_connection_idle_for_longer_than_5_s_is_still_served(stack):
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1, keepalive_expiry=60)
    async with httpx.AsyncClient(base_url=stack.gateway_url, limits=limits) as client:
        first = await client.get("/healthz")
        used = first.extensions["network_stream"].get_extra_info("client_addr")
        await asyncio.sleep(6.5)
        second = await client.get("/healthz")
        again = second.extensions["network_stream"].get_extra_info("client_addr")
    assert first.status_code == second.status_code == 200
    assert again == used, "the server closed the idle connection"
