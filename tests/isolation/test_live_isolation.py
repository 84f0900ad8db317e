"""RELIABILITY I5 (the traffic half): 10,000 live values across two tenants reach their own tenant's
subscribers only, and while tenant A is being refused by its rate limit, tenant B is served."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import websockets

from sf.seeding import create_api_key, create_tenant, send_batches
from sfcloud.v1 import ingest_pb2

LIVE = "subscription ($ids: [ID!]!) { liveValues(seriesIds: $ids) { seriesId value missed } }"
# Ingest publishes each batch's newest value of each series: per tenant 500 batches of its 10 series,
# 5,000 live values each, 10,000 in all.
BATCHES, SERIES = 500, 10


class Subscriber:
    """A live-value subscriber over an API key, counting what it hears by series."""

    def __init__(self, stack, key: str, series_ids: list[str]) -> None:
        self.url = stack.gateway_url.replace("http", "ws", 1) + "/graphql"
        self.key, self.series_ids = key, series_ids
        self.heard: dict[str, int] = {}
        self.missed = 0
        self.ws = None

    async def open(self) -> None:
        self.ws = await websockets.connect(
            self.url,
            subprotocols=["graphql-transport-ws"],
            additional_headers={"authorization": f"Bearer {self.key}"},
        )
        await self.ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await self.ws.recv())["type"] == "connection_ack"
        payload = {"query": LIVE, "variables": {"ids": self.series_ids}}
        await self.ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))

    async def listen(self) -> None:
        async for raw in self.ws:
            message = json.loads(raw)
            assert message["type"] == "next" and "errors" not in message["payload"], message
            value = message["payload"]["data"]["liveValues"]
            self.heard[value["seriesId"]] = self.heard.get(value["seriesId"], 0) + 1
            self.missed += value["missed"]

    @property
    def total(self) -> int:
        return sum(self.heard.values()) + self.missed


def batches(series_ids: list[str], start_ns: int, tag: float) -> list[ingest_pb2.IngestRequest]:
    return [
        ingest_pb2.IngestRequest(
            batch_no=n + 2,
            series=[
                ingest_pb2.SeriesPoints(series_id=s, timestamps_ns=[start_ns + n * 1_000_000], values=[tag])
                for s in series_ids
            ],
        )
        for n in range(BATCHES)
    ]


async def requests(stack, key: str, count: int, concurrency: int) -> list[int]:
    statuses: list[int] = []
    async with httpx.AsyncClient(
        base_url=stack.gateway_url, headers={"authorization": f"Bearer {key}"}
    ) as http:

        async def worker(share: int) -> None:
            for _ in range(share):
                statuses.append((await http.post("/graphql", json={"query": "{ me { kind } }"})).status_code)

        await asyncio.gather(*(worker(count // concurrency) for _ in range(concurrency)))
    return statuses


async def test_live_values_reach_only_their_tenant_and_a_limited_neighbour_costs_the_other_nothing(
    stack, signer
):
    a = await create_tenant(
        stack.targets["tenancy"], signer, "Live iso A", series_count=SERIES, plan="starter"
    )
    b = await create_tenant(stack.targets["tenancy"], signer, "Live iso B", series_count=SERIES)
    tenants = {"a": a, "b": b}
    keys = {
        name: await create_api_key(stack.targets["tenancy"], signer, t.id, ["read"])
        for name, t in tenants.items()
    }
    subscribers = {name: Subscriber(stack, keys[name], t.series_ids) for name, t in tenants.items()}
    for subscriber in subscribers.values():
        await subscriber.open()
    listening = [asyncio.create_task(s.listen()) for s in subscribers.values()]
    try:
        now = time.time_ns() - 60 * 10**9
        for name, subscriber in subscribers.items():  # a value each until the subscription is in place
            tenant = tenants[name]
            for n in range(40):
                first = ingest_pb2.SeriesPoints(
                    series_id=tenant.series_ids[0], timestamps_ns=[now - 10**9 - n], values=[0.0]
                )
                await send_batches(
                    stack.targets["ingest"],
                    tenant.credential,
                    [ingest_pb2.IngestRequest(batch_no=1, series=[first])],
                )
                await asyncio.sleep(0.25)
                if subscriber.total:
                    break
            assert subscriber.total, "the subscription never heard its first value"
        warmup = {t: s.total for t, s in subscribers.items()}
        flood = asyncio.create_task(
            requests(stack, keys["a"], 1_300, 8)
        )  # A: more than its plan's minute (1,200)
        b_statuses = await requests(stack, keys["b"], 100, 2)
        await asyncio.gather(
            send_batches(stack.targets["ingest"], a.credential, batches(a.series_ids, now, 1.0)),
            send_batches(stack.targets["ingest"], b.credential, batches(b.series_ids, now, 2.0)),
        )
        a_statuses = await flood
        for _ in range(300):  # until every value is heard or counted as missed, at most 30 s
            if all(s.total - warmup[name] >= BATCHES * SERIES for name, s in subscribers.items()):
                break
            await asyncio.sleep(0.1)
    finally:
        for task in listening:
            task.cancel()
        for subscriber in subscribers.values():
            await subscriber.ws.close()
    for name, subscriber in subscribers.items():
        assert set(subscriber.heard) <= set(tenants[name].series_ids), (
            "a value of another tenant was delivered"
        )
        assert subscriber.total - warmup[name] == BATCHES * SERIES  # heard, or counted as missed
    assert a_statuses.count(429) > 0 and set(a_statuses) <= {200, 429}
    assert b_statuses.count(200) / len(b_statuses) >= 0.99, b_statuses
