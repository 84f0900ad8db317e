"""The plan's live limits over real websockets (graphql-transport-ws) against two gateways sharing Redis:
a tenant's connection past its plan is closed with 4403 while another tenant connects; a dropped socket,
or a gateway that died, frees its place; a subscribe past the plan gets an `error` coded RATE_LIMITED
and the socket goes on. The tight catalog's pro plan allows 2 connections, 2 subscriptions on
one, 4 subscribes a minute."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid

import pytest
import redis.asyncio as aioredis
import websockets

from gateway.graphql.transport import TOO_MANY_CONNECTIONS
from gateway.livelimits import connections_key
from services.runtime.leases import Leases
from sf.seeding import SeededTenant, create_tenant
from tests.e2e.provision import GraphQLClient
from tests.gateway.conftest import TIGHT_LIVE, another_gateway, tight_catalog

LIVE = "subscription ($ids: [ID!]!) { liveValues(seriesIds: $ids) { seriesId value } }"
ALLOWED = TIGHT_LIVE["live_connections"]


@pytest.fixture(scope="module")
async def other_tight_gateway(stack, tmp_path_factory) -> str:
    """A second gateway with the tight catalog: connections are counted across both."""
    async with another_gateway(stack, catalog_dir=tight_catalog(tmp_path_factory.mktemp("catalog2"))) as url:
        yield url


async def signed_in(stack, signer, name: str) -> tuple[SeededTenant, GraphQLClient, str]:
    tenant = await create_tenant(stack.targets["tenancy"], signer, name, plan="pro")
    client = await GraphQLClient.login(stack.gateway_url, tenant.owner_email, tenant.owner_password)
    return tenant, client, client.http.headers["cookie"]


async def open_socket(base_url: str, cookie: str):
    url = base_url.replace("http", "ws") + "/graphql"
    return await websockets.connect(
        url, subprotocols=["graphql-transport-ws"], additional_headers={"Cookie": cookie}
    )


async def initialised(base_url: str, cookie: str):
    """A socket past `connection_init`: acknowledged, or closed by the server (read its close code)."""
    ws = await open_socket(base_url, cookie)
    await ws.send(json.dumps({"type": "connection_init"}))
    with contextlib.suppress(websockets.ConnectionClosed):  # closed by the server: the caller reads the code
        message = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert message["type"] == "connection_ack", message
    return ws


async def refused(base_url: str, cookie: str) -> str:
    """The reason the server closed a new socket with, after checking its code is 4403."""
    ws = await initialised(base_url, cookie)
    await asyncio.wait_for(ws.wait_closed(), 10)
    assert ws.close_code == TOO_MANY_CONNECTIONS, (ws.close_code, ws.close_reason)
    return ws.close_reason


async def admitted_within(base_url: str, cookie: str, seconds: float):
    """A socket acknowledged within ``seconds`` of trying again and again."""
    async with asyncio.timeout(seconds):
        while True:
            ws = await initialised(base_url, cookie)
            if ws.close_code is None:
                return ws
            await asyncio.sleep(0.1)


async def test_a_tenants_connection_past_its_plan_is_closed_while_another_tenant_connects(
    stack, signer, tight_gateway, other_tight_gateway
):
    _, full, full_cookie = await signed_in(stack, signer, "Live full")
    _, other, other_cookie = await signed_in(stack, signer, "Live other")
    held = [
        await initialised(tight_gateway, full_cookie),
        await initialised(other_tight_gateway, full_cookie),  # counted across gateways
    ]
    try:
        assert all(ws.close_code is None for ws in held)
        for gateway in (tight_gateway, other_tight_gateway):
            reason = await refused(gateway, full_cookie)
            assert reason == f"too many live connections: your plan allows {ALLOWED} at a time"
        others = await initialised(tight_gateway, other_cookie)  # another tenant is not held back
        assert others.close_code is None
        await others.send(json.dumps({"type": "ping"}))
        assert json.loads(await asyncio.wait_for(others.recv(), 10))["type"] == "pong"
        await others.close()
    finally:
        for ws in held:
            await ws.close()
        await full.close()
        await other.close()


async def test_a_dropped_socket_frees_its_place(stack, signer, tight_gateway):
    _, client, cookie = await signed_in(stack, signer, "Live dropped")
    held = [await initialised(tight_gateway, cookie) for _ in range(ALLOWED)]
    try:
        await refused(tight_gateway, cookie)
        held[0].transport.abort()  # the network goes: no close handshake
        held[0] = await admitted_within(tight_gateway, cookie, 10)
        await held[1].close()  # a page left: a normal close
        held[1] = await admitted_within(tight_gateway, cookie, 10)
        await refused(tight_gateway, cookie)
    finally:
        for ws in held:
            await ws.close()
        await client.close()


async def test_places_held_by_a_gateway_that_died_lapse(stack, signer, tight_gateway, redis_url):
    """A dead gateway neither renews nor gives back its sockets' leases: they lapse (here after a second,
    as if their last renewal had been a minute ago) and the tenant connects again."""
    tenant, client, cookie = await signed_in(stack, signer, "Live crashed")
    redis = aioredis.Redis.from_url(redis_url)
    try:
        leases = Leases(redis)
        for _ in range(ALLOWED):
            assert await leases.take(connections_key(tenant.id), uuid.uuid4().hex, ALLOWED, ttl_s=1)
        await refused(tight_gateway, cookie)
        ws = await admitted_within(tight_gateway, cookie, 5)
        await ws.close()
    finally:
        await redis.aclose()
        await client.close()


def subscribe(ws, op_id: str, tenant: SeededTenant):
    payload = {"query": LIVE, "variables": {"ids": tenant.series_ids[:1]}}
    return ws.send(json.dumps({"id": op_id, "type": "subscribe", "payload": payload}))


async def refusal_of(ws, op_id: str) -> dict:
    message = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert (message["type"], message["id"]) == ("error", op_id), message
    (error,) = message["payload"]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    return error


async def test_subscribes_past_the_plan_get_an_error_and_the_socket_goes_on(stack, signer, tight_gateway):
    tenant, client, cookie = await signed_in(stack, signer, "Live subscribes")
    first = await initialised(tight_gateway, cookie)
    second = await initialised(tight_gateway, cookie)
    try:
        await subscribe(first, "1", tenant)
        await subscribe(first, "2", tenant)
        await subscribe(first, "3", tenant)
        error = await refusal_of(first, "3")
        assert error["extensions"] == {"code": "RATE_LIMITED", "reason": "TOO_MANY_SUBSCRIPTIONS", "limit": 2}
        await first.send(json.dumps({"id": "1", "type": "complete"}))
        await subscribe(first, "3", tenant)  # a place on the socket is free again: the 3rd subscribe a minute
        await subscribe(second, "1", tenant)  # the 4th
        await subscribe(second, "2", tenant)
        error = await refusal_of(second, "2")
        assert error["extensions"]["reason"] == "SUBSCRIBE_RATE"
        assert error["extensions"]["limit"] == TIGHT_LIVE["live_subscribes_per_minute"]
        assert 1 <= error["extensions"]["retryAfter"] <= 15
        assert error["message"].startswith("over your plan's 4 subscriptions a minute; retry in ")
        for ws in (first, second):  # both sockets still answer
            await ws.send(json.dumps({"type": "ping"}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "pong"
    finally:
        await first.close()
        await second.close()
        await client.close()
