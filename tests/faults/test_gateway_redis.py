"""RELIABILITY D7: a gateway whose Redis goes dark answers at once instead of waiting on it.

The gateway keeps sessions, rate limits, persisted queries and live values in Redis. With its link
blackholed behind the fault proxy, a Redis command gives up after the client's command timeout
(`SF_GATEWAY_REDIS_TIMEOUT_MS`) and the next ones fail at once for a moment: a signed-in request is
answered 503 `UNAVAILABLE`, an API key's request is answered (and its rate limit held by the gateway
process itself), a new live subscription is refused `UNAVAILABLE`, readiness says unavailable; after the
restore all of it works again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

import httpx
import pytest
import websockets

from gateway.graphql import hub
from services.runtime.redis_breaker import OPEN_S
from sf.seeding import create_tenant, send_batches
from tests.e2e.provision import GraphQLClient
from tests.e2e.test_bad_input import batch
from tests.faults.proxy import FaultProxy, through, upstream_of
from tests.gateway.conftest import SMALL, TIGHT_RATE, another_gateway, new_developer, tight_catalog

pytestmark = pytest.mark.slow
TIMEOUT_S = 0.5  # the gateway's Redis command timeout (its default)
ANSWERED_WITHIN_S = 3 * TIMEOUT_S  # a page reads the session twice (its brand, then itself) + slack
LIVE = "subscription ($ids: [ID!]!) { liveValues(seriesIds: $ids) { seriesId value } }"


def gateway_behind(
    stack, proxy: FaultProxy, **overrides: object
) -> contextlib.AbstractAsyncContextManager[str]:
    """A gateway on the stack's services reaching Redis only through ``proxy``; its base URL."""
    return another_gateway(
        stack, redis_url=through(stack.redis_url, proxy), redis_timeout_s=TIMEOUT_S, **overrides
    )


class Stopwatch:
    """How long each call took, by name, to print as the run's figures."""

    def __init__(self) -> None:
        self.took: dict[str, float] = {}

    async def timed(self, name: str, call):
        started = time.perf_counter()
        answer = await call
        self.took[name] = time.perf_counter() - started
        return answer


async def subscribe_answer(base_url: str, key: str, series_id: str) -> dict:
    """The first message after a `subscribe` of one series' live values over an API-key socket (a
    subscription that fails once started ends with a `next` carrying its errors)."""
    ws = await live_socket(base_url, key, series_id)
    try:
        return json.loads(await asyncio.wait_for(ws.recv(), 10))
    finally:
        await ws.close()


async def test_a_dark_redis_is_answered_at_once_and_forgotten_after_the_restore(stack, signer, tenancy):
    redis = FaultProxy(*upstream_of(stack.redis_url))
    async with redis, gateway_behind(stack, redis) as base_url:
        owner = await create_tenant(stack.targets["tenancy"], signer, "Dark Redis", plan="pro")
        person = await GraphQLClient.login(base_url, owner.owner_email, owner.owner_password)
        developer = await new_developer(stack, signer, tenancy, base_url, plan="pro")
        series_id = str(developer.tenant.series_ids[0])
        browser = person.http
        async with developer.client() as api, contextlib.AsyncExitStack() as closing:
            closing.push_async_callback(person.close)
            assert (await person.query(SMALL))["data"]["me"]["kind"] == "user"
            redis.blackhole()

            watch = Stopwatch()
            signed_in = await watch.timed(
                "signed-in query",
                browser.post("/graphql", json={"query": SMALL}, headers={"x-csrf-token": person.csrf}),
            )
            assert signed_in.status_code == 503, signed_in.text
            error = signed_in.json()["errors"][0]
            assert error["extensions"]["code"] == "UNAVAILABLE" and "session" in error["message"], error

            by_key = await watch.timed("API-key query", api.post("/graphql", json={"query": SMALL}))
            assert by_key.status_code == 200 and by_key.json()["data"]["me"]["kind"] == "api_key", by_key.text

            page = await watch.timed("page", browser.get("/"))
            assert page.status_code == 503 and page.headers["retry-after"] == "5", page
            assert page.text.startswith("503: sessions are unavailable"), page.text

            form = {"email": owner.owner_email, "password": owner.owner_password}
            async with httpx.AsyncClient(base_url=base_url) as stranger:
                sign_in = await watch.timed("sign-in", stranger.post("/login", data=form))
            assert sign_in.status_code == 503 and "set-cookie" not in sign_in.headers, sign_in.headers
            assert "unavailable" in sign_in.text

            ready = await watch.timed("readiness", browser.get("/readyz"))
            assert ready.status_code == 503, ready.text
            assert all(took < ANSWERED_WITHIN_S for took in watch.took.values()), watch.took
            # The first went unanswered, so the client stops asking for a moment: the others do not wait
            # out the timeout, but for at most one probe a second.
            waited = [name for name, took in watch.took.items() if took >= TIMEOUT_S][1:]
            assert len(waited) <= 1, watch.took

            refused = await watch.timed("subscribe", subscribe_answer(base_url, developer.key, series_id))
            assert refused["type"] == "next" and refused["payload"]["data"] is None, refused
            assert refused["payload"]["errors"][0]["extensions"]["code"] == "UNAVAILABLE", refused
            assert watch.took["subscribe"] < ANSWERED_WITHIN_S + 1  # + connecting and the key check
            print(
                "answered with Redis dark (s):", {name: round(took, 3) for name, took in watch.took.items()}
            )

            redis.restore()
            await asyncio.sleep(1)
            assert (await person.query(SMALL))["data"]["me"]["kind"] == "user"
            assert (await browser.get("/")).status_code == 200
            assert (await browser.get("/readyz")).status_code == 200
            assert (await api.post("/graphql", json={"query": SMALL})).status_code == 200


async def test_with_redis_dark_the_gateway_holds_each_api_key_to_its_rate_itself(
    stack, signer, tenancy, tmp_path, caplog
):
    """The rate limit does not lapse with Redis: the standard plan's tight rate holds per process."""
    redis = FaultProxy(*upstream_of(stack.redis_url))
    async with redis, gateway_behind(stack, redis, catalog_dir=tight_catalog(tmp_path)) as base_url:
        developer = await new_developer(stack, signer, tenancy, base_url, plan="standard")
        async with developer.client() as api:
            redis.blackhole()
            answers = [await api.post("/graphql", json={"query": SMALL}) for _ in range(TIGHT_RATE + 1)]
            assert [answer.status_code for answer in answers] == [200] * TIGHT_RATE + [429], answers
            assert [answer.headers["ratelimit-remaining"] for answer in answers[:TIGHT_RATE]] == [
                str(left) for left in range(TIGHT_RATE - 1, -1, -1)
            ]
            refused = answers[-1]
            assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED", refused.text
            assert 1 <= int(refused.headers["retry-after"]) <= 60 // TIGHT_RATE + 1, refused.headers
            assert any("held by this process alone" in record.message for record in caplog.records)

            redis.restore()
            await asyncio.sleep(OPEN_S)  # the breaker lets commands by again: Redis's bucket, untouched
            shared = await api.post("/graphql", json={"query": SMALL})
            assert shared.status_code == 200 and shared.headers["ratelimit-remaining"] == str(TIGHT_RATE - 1)


async def live_socket(base_url: str, key: str, series_id: str):
    """An API-key socket subscribed to one series' live values."""
    url = base_url.replace("http", "ws") + "/graphql"
    headers = {"Authorization": f"Bearer {key}"}
    ws = await websockets.connect(url, subprotocols=["graphql-transport-ws"], additional_headers=headers)
    await ws.send(json.dumps({"type": "connection_init"}))
    assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
    payload = {"query": LIVE, "variables": {"ids": [series_id]}}
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
    return ws


async def hears_a_value(stack, ws, tenant, value: float) -> None:
    """Like a device, a value each half second until the subscription passes one on."""
    series_id = tenant.series_ids[0]
    for _ in range(20):
        await send_batches(
            stack.targets["ingest"], tenant.credential, [batch(series_id, [time.time_ns()], [value])]
        )
        with contextlib.suppress(TimeoutError):
            message = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
            assert message["payload"]["data"]["liveValues"] == {"seriesId": series_id, "value": value}, (
                message
            )
            return
    raise AssertionError("no live value in 10 s")


async def test_a_live_subscription_on_a_link_gone_dark_ends_unavailable(stack, signer, tenancy, monkeypatch):
    """A dark link looks like a quiet channel; the hub's pings tell them apart within 2-3 heartbeats."""
    monkeypatch.setattr(hub, "HEARTBEAT_S", 0.5)
    redis = FaultProxy(*upstream_of(stack.redis_url))
    async with redis, gateway_behind(stack, redis) as base_url:
        developer = await new_developer(stack, signer, tenancy, base_url, plan="pro")
        ws = await live_socket(base_url, developer.key, developer.tenant.series_ids[0])
        await hears_a_value(stack, ws, developer.tenant, 1.5)
        await asyncio.sleep(3 * hub.HEARTBEAT_S)  # quiet but alive: still subscribed
        await hears_a_value(stack, ws, developer.tenant, 2.5)

        redis.blackhole()
        started = time.perf_counter()
        ended = json.loads(await asyncio.wait_for(ws.recv(), 10))
        after_s = time.perf_counter() - started
        assert ended["payload"]["errors"][0]["extensions"]["code"] == "UNAVAILABLE", ended
        assert "interrupted" in ended["payload"]["errors"][0]["message"], ended
        assert 2 * hub.HEARTBEAT_S <= after_s <= 3 * hub.HEARTBEAT_S + 1, after_s
        await ws.close()

        redis.restore()
        await asyncio.sleep(OPEN_S)  # the client's breaker, opened by the dark link, lets commands by again
        ws = await live_socket(base_url, developer.key, developer.tenant.series_ids[0])
        await hears_a_value(stack, ws, developer.tenant, 3.5)
        await ws.close()
        print(
            f"live subscription ended {after_s:.2f} s after its link went dark (heartbeat {hub.HEARTBEAT_S} s)"
        )
