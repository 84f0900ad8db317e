"""Live values over graphql-transport-ws: what ingest commits reaches the tenant's subscribers."""

from __future__ import annotations

import asyncio
import gc
import json
import time

import pytest
import websockets
from graphql.execution.collect_fields import CollectedFields

from sfcloud.v1 import ingest_pb2
from tests.e2e.provision import GraphQLClient, create_tenant, send_batches
from tests.e2e.test_bad_input import batch

LIVE = "subscription ($ids: [ID!]!) { liveValues(seriesIds: $ids) { seriesId timestamp value } }"


async def open_socket(stack, client: GraphQLClient, origin: str | None = None):
    headers = {"Cookie": client.http.headers["cookie"], **({"Origin": origin} if origin else {})}
    url = stack.gateway_url.replace("http", "ws") + "/graphql"
    return await websockets.connect(url, subprotocols=["graphql-transport-ws"], additional_headers=headers)


async def next_message(ws, kind: str) -> dict:
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if message["type"] == kind:
            return message


async def subscribe_live(ws, series_ids: list[str]) -> None:
    """graphql-transport-ws: initialise the connection, then subscribe to the series' live values."""
    await ws.send(json.dumps({"type": "connection_init"}))
    await next_message(ws, "connection_ack")
    payload = {"query": LIVE, "variables": {"ids": series_ids}}
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))


async def test_a_subscriber_receives_committed_values(stack, signer):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Live")
    client = await GraphQLClient.login(stack.gateway_url, tenant.owner_email, tenant.owner_password)
    ws = await open_socket(stack, client)
    try:
        await subscribe_live(ws, [tenant.series_ids[1]])
        message = None
        for _ in range(20):  # like a device: a value each half second until the subscription is in place
            await send_batches(
                stack.targets["ingest"],
                tenant.credential,
                [batch(tenant.series_ids[1], [time.time_ns()], [42.5])],
            )
            try:
                message = await asyncio.wait_for(next_message(ws, "next"), 0.5)
                break
            except TimeoutError:
                continue
        assert message["payload"]["data"]["liveValues"]["seriesId"] == tenant.series_ids[1]
        assert message["payload"]["data"]["liveValues"]["value"] == 42.5
    finally:
        await ws.close()
        await client.close()


async def test_another_tenants_series_cannot_be_subscribed(stack, signer):
    """RELIABILITY I5: A subscription to another tenant's series is refused."""
    a = await create_tenant(stack.targets["tenancy"], signer, "Live A")
    b = await create_tenant(stack.targets["tenancy"], signer, "Live B")
    client = await GraphQLClient.login(stack.gateway_url, b.owner_email, b.owner_password)
    ws = await open_socket(stack, client)
    try:
        await subscribe_live(ws, [a.series_ids[0]])
        message = await next_message(ws, "next")
        assert message["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    finally:
        await ws.close()
        await client.close()


async def test_a_foreign_origin_is_refused(stack, signer):
    """RELIABILITY G3: A websocket from a foreign Origin is refused."""
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Live origin")
    client = await GraphQLClient.login(stack.gateway_url, tenant.owner_email, tenant.owner_password)
    try:
        with pytest.raises(websockets.exceptions.InvalidStatus) as caught:
            await open_socket(stack, client, origin="https://evil.example")
        assert caught.value.response.status_code == 403
    finally:
        await client.close()


async def test_a_subscriber_that_reads_late_gets_every_value_or_its_count(stack, signer):
    """RELIABILITY D6: Values stored while a client reads nothing reach it later, or are counted in `missed` (the
    gateway keeps at most 1,000 waiting per subscription: tests/gateway/test_live_relay.py)."""
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Live slow", series_count=20)
    client = await GraphQLClient.login(stack.gateway_url, tenant.owner_email, tenant.owner_password)
    ws = await open_socket(stack, client)
    try:
        await ws.send(json.dumps({"type": "connection_init"}))
        await next_message(ws, "connection_ack")
        query = "subscription ($ids: [ID!]!) { liveValues(seriesIds: $ids) { timestamp missed } }"
        payload = {"query": query, "variables": {"ids": tenant.series_ids}}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        await asyncio.sleep(1)  # subscribed
        start, batches = time.time_ns() - 3_600 * 10**9, 60
        requests = [
            ingest_pb2.IngestRequest(
                batch_no=n + 1,
                series=[
                    ingest_pb2.SeriesPoints(series_id=s, timestamps_ns=[start + n], values=[1.0])
                    for s in tenant.series_ids
                ],
            )
            for n in range(batches)
        ]
        await send_batches(
            stack.targets["ingest"], tenant.credential, requests
        )  # one live value per series each
        assert (await client.query("{ me { kind } }"))["data"]["me"]["kind"] == "user"  # still serving

        received = missed = 0
        async with asyncio.timeout(30):
            while received + missed < batches * len(tenant.series_ids):
                value = (await next_message(ws, "next"))["payload"]["data"]["liveValues"]
                received, missed = received + 1, missed + value["missed"]
        assert received + missed == batches * len(tenant.series_ids)
    finally:
        await ws.close()
        await client.close()


def collected_fields_held() -> int:
    gc.collect()
    return sum(isinstance(o, CollectedFields) for o in gc.get_objects())


async def test_a_long_subscription_holds_nothing_per_value_sent(stack, signer):
    """RELIABILITY soak, found there: graphql-core kept what it collected for each value a subscription
    sent, for as long as the subscription lived (`gateway/graphql/executor.py`). The gateway runs in this
    process, so what it holds is counted here: 500 values sent add nothing to it."""
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Live long")
    client = await GraphQLClient.login(stack.gateway_url, tenant.owner_email, tenant.owner_password)
    ws = await open_socket(stack, client)
    try:
        await subscribe_live(ws, [tenant.series_ids[0]])
        await asyncio.sleep(1)  # subscribed
        start = time.time_ns() - 3_600 * 10**9
        await send_batches(
            stack.targets["ingest"], tenant.credential, [batch(tenant.series_ids[0], [start], [0.0])]
        )
        await next_message(ws, "next")  # the subscription's own state is made: measure from here
        held = collected_fields_held()
        requests = [batch(tenant.series_ids[0], [start + n], [1.0], batch_no=n) for n in range(1, 501)]
        await send_batches(stack.targets["ingest"], tenant.credential, requests)  # a live value each
        received = 0
        async with asyncio.timeout(30):
            while received < 500:
                value = (await next_message(ws, "next"))["payload"]["data"]["liveValues"]
                assert value["seriesId"] == tenant.series_ids[0]
                received += 1
        assert collected_fields_held() - held < 10, "the gateway holds something for every value it sent"
    finally:
        await ws.close()
        await client.close()
