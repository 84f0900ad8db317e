"""Live latency: from a device sending a value to a GraphQL subscriber receiving it, at 10,000 points/s.

The device stamps each batch's newest point with the time it sends it; the subscriber (a real
graphql-transport-ws client, signed in like the web app) subtracts that from the time it receives it.
The baseline is the same path without the stack: a Redis publish to a subscriber in the same process.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time

import grpc
import httpx
import numpy as np
import redis.asyncio as aioredis
import websockets

from gateway.graphql.scalars import parse_timestamp
from services.runtime.tokens import TokenSigner
from sf.bench.databases import fresh_databases
from sf.bench.figures import Figure
from sf.inprocess import InProcessStack
from sf.seeding import create_tenant
from sfcloud.v1 import ingest_pb2, ingest_pb2_grpc

RATE, SERIES, BATCHES_PER_S, SECONDS = 10_000, 10, 20, 8
SUBSCRIBE = "subscription ($ids: [ID!]!) { liveValues(seriesIds: $ids) { timestamp } }"


async def _subscriber(
    stack: InProcessStack, tenant, ready: asyncio.Event, latencies: list[float], stop: asyncio.Event
):
    async with httpx.AsyncClient(base_url=stack.gateway_url) as http:
        login = await http.post(
            "/login", data={"email": tenant.owner_email, "password": tenant.owner_password}
        )
        cookie = login.headers["set-cookie"].split(";", 1)[0]
    url = stack.gateway_url.replace("http", "ws") + "/graphql"
    async with websockets.connect(
        url, subprotocols=["graphql-transport-ws"], additional_headers={"Cookie": cookie}
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init"}))
        await ws.recv()
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": SUBSCRIBE, "variables": {"ids": tenant.series_ids}},
                }
            )
        )
        ready.set()
        while not stop.is_set():
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), 1))
            except TimeoutError:
                continue
            if message.get("type") == "next":
                stamp = message["payload"]["data"]["liveValues"]["timestamp"]
                latencies.append(time.time() - _seconds(stamp))


def _seconds(rfc3339: str) -> float:
    return parse_timestamp(rfc3339) / 1e9


async def _device(stack: InProcessStack, tenant, stop: asyncio.Event) -> None:
    per_series = RATE // SERIES // BATCHES_PER_S

    async def batches():
        n = 0
        while not stop.is_set():
            n += 1
            now = time.time_ns()
            stamps = [now - (per_series - 1 - i) * 10**6 for i in range(per_series)]
            yield ingest_pb2.IngestRequest(
                batch_no=n,
                series=[
                    ingest_pb2.SeriesPoints(series_id=s, timestamps_ns=stamps, values=[float(n)] * per_series)
                    for s in tenant.series_ids
                ],
            )
            await asyncio.sleep(1 / BATCHES_PER_S)

    async with grpc.aio.insecure_channel(stack.targets["ingest"]) as channel:
        call = ingest_pb2_grpc.IngestServiceStub(channel).Ingest(
            batches(), metadata=(("authorization", f"Device {tenant.credential}"),), timeout=SECONDS + 30
        )
        acks = [
            ack async for ack in call
        ]  # every batch acknowledged after commit, as a device waits for them
    if not acks:
        raise RuntimeError("the live benchmark's device got no acknowledgement")


async def _redis_floor(redis_url: str) -> list[float]:
    redis = aioredis.Redis.from_url(redis_url)
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe("bench:floor")
    samples = []
    for _ in range(200):
        await redis.publish("bench:floor", str(time.time()))
        message = await pubsub.get_message(timeout=1)
        while message is None:
            message = await pubsub.get_message(timeout=1)
        samples.append(time.time() - float(message["data"]))
    await pubsub.aclose()
    await redis.aclose()
    return samples


async def _run(admin_url: str, redis_url: str) -> dict[str, Figure]:
    key = secrets.token_urlsafe(48)
    stack = await InProcessStack(admin_url, redis_url, key).start()
    try:
        tenant = await create_tenant(
            stack.targets["tenancy"], TokenSigner(key), "Live bench", series_count=SERIES
        )
        latencies: list[float] = []
        ready, stop = asyncio.Event(), asyncio.Event()
        subscriber = asyncio.create_task(_subscriber(stack, tenant, ready, latencies, stop))
        await asyncio.wait_for(ready.wait(), 30)
        device = asyncio.create_task(_device(stack, tenant, stop))
        await asyncio.sleep(SECONDS)
        stop.set()
        await asyncio.gather(device, subscriber)
        floor = await _redis_floor(redis_url)
    finally:
        await stack.stop()
    return {
        "ingest.live_latency_p99_ms": Figure(
            float(np.percentile(latencies, 99) * 1000), "ms", float(np.percentile(floor, 99) * 1000)
        ),
    }


def run() -> dict[str, Figure]:
    with fresh_databases() as (admin_url, redis_url):
        return asyncio.run(_run(admin_url, redis_url))
