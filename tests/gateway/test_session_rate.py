"""A person signed in to the web app is held to the plan's session requests a minute, across all their
sessions, with the same headers, 429 and code as API keys; other people are served meanwhile.
Real HTTP (httpx) against a gateway whose catalog gives the standard plan a tight rate."""

from __future__ import annotations

import uuid

from gateway.livelimits import LiveLimiter
from gateway.plans import DEFAULT_LIMITS
from gateway.ratelimit import ApiRateLimiter
from services.runtime.principal import Kind, Principal, Role
from services.runtime.redis_pool import redis_client
from sf.inprocess import free_port
from sf.seeding import create_tenant
from tests.e2e.provision import GraphQLClient
from tests.gateway.conftest import TIGHT_RATE

ME = "{ me { kind } }"


async def ask(client: GraphQLClient):
    return await client.http.post("/graphql", json={"query": ME}, headers={"x-csrf-token": client.csrf})


async def test_a_person_over_the_session_rate_gets_429_and_others_are_served(stack, signer, tight_gateway):
    busy = await create_tenant(stack.targets["tenancy"], signer, "Busy person")
    other = await create_tenant(stack.targets["tenancy"], signer, "Other person")
    laptop = await GraphQLClient.login(tight_gateway, busy.owner_email, busy.owner_password)
    phone = await GraphQLClient.login(tight_gateway, busy.owner_email, busy.owner_password)
    quiet = await GraphQLClient.login(tight_gateway, other.owner_email, other.owner_password)
    try:
        remaining = []
        for n in range(TIGHT_RATE):
            response = await ask((laptop, phone)[n % 2])
            assert response.status_code == 200, response.text
            assert response.headers["ratelimit-limit"] == str(TIGHT_RATE)
            assert response.headers["ratelimit-policy"] == f"{TIGHT_RATE};w=60"
            remaining.append(int(response.headers["ratelimit-remaining"]))
        assert remaining == list(range(TIGHT_RATE - 1, -1, -1))  # both sessions draw on the person's bucket
        refused = await ask(laptop)
        assert refused.status_code == 429
        (error,) = refused.json()["errors"]
        assert error["extensions"]["code"] == "RATE_LIMITED"
        assert error["message"] == f"over your plan's {TIGHT_RATE} requests a minute; retry later"
        assert refused.headers["ratelimit-remaining"] == "0"
        assert 1 <= int(refused.headers["retry-after"]) <= 60 // TIGHT_RATE + 1
        assert (await ask(phone)).status_code == 429  # signing in again buys no fresh minute
        for _ in range(3):  # another person (of another tenant) is served meanwhile
            served = await ask(quiet)
            assert served.status_code == 200 and served.json()["data"]["me"]["kind"] == "user"
    finally:
        for client in (laptop, phone, quiet):
            await client.close()


async def test_without_redis_the_process_counts_the_rates_and_live_sockets_pass_uncounted():
    """Redis out of reach: a person's requests and subscribes are counted by this process (the first of
    each passes, and the request says how many are left), and a live socket passes uncounted."""
    unreachable = redis_client(
        f"redis://127.0.0.1:{free_port()}/0"
    )  # refused, as the services' clients see it
    person = Principal(Kind.USER, "someone", tenant_id=uuid.uuid4(), role=Role.OWNER)
    try:
        verdict = await ApiRateLimiter(unreachable).check(person, DEFAULT_LIMITS)
        assert verdict.allowed, verdict
        assert verdict.headers["ratelimit-remaining"] == str(DEFAULT_LIMITS.session_requests_per_minute - 1)
        live = LiveLimiter(unreachable)
        assert await live.admit(person, DEFAULT_LIMITS) is None
        assert await live.refusal(person, DEFAULT_LIMITS, running=0) is None
    finally:
        await unreachable.aclose()
