"""The web app's own use stays well inside the plan's session and live limits: a person who opens every
page of the smallest plan, the machine page twice, makes a small part of a minute's requests and
subscribes, and holds a live socket only while a page shows live data (the gateways' own count, in Redis)."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis
from playwright.async_api import expect

from gateway.livelimits import connections_key
from gateway.plans import ApiLimits
from services.tenancy.catalog import load_plans
from tests.e2e.provision import create_tenant
from tests.webapp.conftest import CHROMIUM, NO_BROWSER, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.skipif(CHROMIUM is None, reason=NO_BROWSER)]
TENANT_PAGES = ["/", "/alarms", "/level", "/devices", "/api-keys"]


async def test_a_tour_of_every_page_spends_a_small_part_of_the_limits(stack, signer, page, redis_url):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Web limits", plan="starter", machines=2)
    limits = ApiLimits.from_quotas(load_plans()["starter"].quotas)
    requests: list[str] = []
    limited: set[str] = set()  # the limits the session's responses named
    subscribes: list[str] = []
    held: list[int] = []  # the tenant's live connections the gateways count, after each page

    def on_request(request) -> None:
        if request.url.endswith("/graphql"):
            requests.append(request.post_data or "")

    def on_response(response) -> None:
        if response.url.endswith("/graphql") and "ratelimit-limit" in response.headers:
            limited.add(response.headers["ratelimit-limit"])

    def on_socket(ws) -> None:
        ws.on("framesent", lambda frame: subscribes.append(frame) if '"subscribe"' in str(frame) else None)

    page.on("request", on_request)
    page.on("response", on_response)
    page.on("websocket", on_socket)
    redis = aioredis.Redis.from_url(redis_url)
    try:
        await sign_in(page, stack.gateway_url, tenant.owner_email, tenant.owner_password)
        machine = f"/machines/{tenant.machine_id}"
        for path in [*TENANT_PAGES, machine, "/", machine]:
            await page.goto(stack.gateway_url + path)
            await expect(page.locator("[aria-busy=true]")).to_have_count(0)
            held.append(await redis.zcard(connections_key(tenant.id)))
    finally:
        await redis.aclose()
    print(f"{len(requests)} requests, {len(subscribes)} subscribes, live connections held {held}")
    assert limited == {str(limits.session_requests_per_minute)}
    assert len(requests) <= limits.session_requests_per_minute // 5, requests
    assert len(subscribes) <= limits.live_subscribes_per_minute // 3, subscribes
    assert 1 <= max(held) <= 2 < limits.live_connections, held  # the last page's may still be closing
