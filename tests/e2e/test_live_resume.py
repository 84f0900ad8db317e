"""RELIABILITY D6: a live subscriber whose socket drops, or whose gateway loses its Redis pub/sub connection,
resumes with `liveValues(after:)` and loses nothing (`gateway/graphql/resume.py`)."""

from __future__ import annotations

import asyncio
import json
import random
import time

import grpc
import pytest
import redis.asyncio as aioredis

from gateway.graphql.scalars import format_timestamp, parse_timestamp
from sf.seeding import device_metadata
from sfcloud.v1 import ingest_pb2, ingest_pb2_grpc
from tests.e2e.provision import GraphQLClient, create_tenant
from tests.e2e.test_live import next_message, open_socket

LIVE_AFTER = (
    "subscription ($ids: [ID!]!, $after: Timestamp) {"
    " liveValues(seriesIds: $ids, after: $after) { seriesId timestamp value missed } }"
)


async def publish(stack, tenant, base_ns: int, count: int, per_second: float) -> None:
    """``count`` batches at a device's pace; batch ``n`` gives every series value ``n`` at ``base_ns + n`` ms."""

    async def batches():
        for n in range(count):
            points = [
                ingest_pb2.SeriesPoints(series_id=s, timestamps_ns=[base_ns + n * 10**6], values=[float(n)])
                for s in tenant.series_ids
            ]
            yield ingest_pb2.IngestRequest(batch_no=n + 1, series=points)
            await asyncio.sleep(1 / per_second)

    async with grpc.aio.insecure_channel(stack.targets["ingest"]) as channel:
        call = ingest_pb2_grpc.IngestServiceStub(channel).Ingest(
            batches(), metadata=device_metadata(tenant.credential), timeout=60 + 4 * count / per_second
        )
        assert sum([ack.points_stored async for ack in call]) == count * len(tenant.series_ids)


class Subscriber:
    """Reads values, keeps the newest timestamp it holds of each series, and when cut off subscribes again
    after the oldest of them, dropping what it already holds (docs/API.md)."""

    def __init__(self, stack, client: GraphQLClient, series_ids: list[str], after_ns: int) -> None:
        self.stack, self.client, self.series_ids = stack, client, series_ids
        self.newest = dict.fromkeys(series_ids, after_ns)
        self.values: dict[str, list[float]] = {s: [] for s in series_ids}
        self.missed = 0  # dropped by the gateway for reading too slowly, then read again by resuming
        self.resumes = 0
        self.ws = None

    @property
    def received(self) -> int:
        return sum(map(len, self.values.values()))

    async def subscribe(self) -> None:
        self.ws = await open_socket(self.stack, self.client)
        await self.ws.send(json.dumps({"type": "connection_init"}))
        await next_message(self.ws, "connection_ack")
        after = format_timestamp(min(self.newest.values()))
        payload = {"query": LIVE_AFTER, "variables": {"ids": self.series_ids, "after": after}}
        await self.ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))

    async def read(self, count: int) -> None:
        """Read ``count`` messages, resuming when the subscription ends (its gateway lost Redis) or when
        values were dropped because this client read too slowly (``missed``)."""
        for _ in range(count):
            message = json.loads(await asyncio.wait_for(self.ws.recv(), 20))
            if message["type"] != "next" or "errors" in message["payload"]:
                assert message["payload"]["errors"][0]["extensions"]["code"] == "UNAVAILABLE"
                await self.resume()
                continue
            value = message["payload"]["data"]["liveValues"]
            if value["missed"]:
                self.missed += value["missed"]
                await self.resume()  # what was dropped lies after our cursor
                continue
            series, timestamp = value["seriesId"], parse_timestamp(value["timestamp"])
            if timestamp > self.newest[series]:  # else held already: the cursor was another series' older one
                self.values[series].append(value["value"])
                self.newest[series] = timestamp

    async def drop(self) -> None:
        """The socket dies without a close handshake, as when a network goes away."""
        await self.resume()

    async def resume(self) -> None:
        self.ws.transport.abort()
        self.resumes += 1
        await self.subscribe()


async def test_a_subscriber_dropped_5_times_and_cut_off_from_redis_loses_nothing(stack, signer, redis_url):
    """RELIABILITY D6: 2,000 values at 500 a second; the subscriber's socket dropped 5 times and the
    gateway's Redis pub/sub connection killed once: resuming after its newest timestamp each time (and
    whenever values were dropped for reading too slowly), it gets every value once, in order."""
    await live_values_survive_drops(stack, signer, redis_url, series=1, count=2_000, per_second=500)


@pytest.mark.long
async def test_10_000_values_through_5_drops_and_a_redis_cut(stack, signer, redis_url):
    """RELIABILITY D6, the row's size: 10,000 values, of 10 series (one cursor for them all)."""
    await live_values_survive_drops(stack, signer, redis_url, series=10, count=1_000, per_second=100)


async def live_values_survive_drops(
    stack, signer, redis_url, series: int, count: int, per_second: float
) -> None:
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Live resume", series_count=series)
    client = await GraphQLClient.login(stack.gateway_url, tenant.owner_email, tenant.owner_password)
    base = time.time_ns() - 3_600 * 10**9
    subscriber = Subscriber(stack, client, tenant.series_ids, after_ns=base - 1)
    rng = random.Random(12)
    redis = aioredis.Redis.from_url(redis_url)
    try:
        await subscriber.subscribe()
        sending = asyncio.create_task(publish(stack, tenant, base, count, per_second))
        for drop in range(6):
            await subscriber.read(rng.randint(count * series // 20, count * series // 8))
            if drop == 3:  # as if Redis restarted: every gateway's pub/sub connection is gone
                assert await redis.client_kill_filter(_type="pubsub") >= 1
            else:
                await subscriber.drop()
        async with asyncio.timeout(60):
            while subscriber.received < count * series:
                await subscriber.read(1)
        await sending
    finally:
        await redis.aclose()
        await subscriber.ws.close()
        await client.close()
    print(
        f"live resume: {count * series} values, {subscriber.resumes} resumes,"
        f" {subscriber.missed} missed and read again"
    )
    assert subscriber.values == {s: [float(n) for n in range(count)] for s in tenant.series_ids}
    assert subscriber.resumes >= 6


async def test_another_tenants_series_cannot_be_resumed(stack, signer):
    """RELIABILITY I5: resuming replays stored values, so the series is checked first: another tenant's is refused."""
    a = await create_tenant(stack.targets["tenancy"], signer, "Resume A")
    b = await create_tenant(stack.targets["tenancy"], signer, "Resume B")
    client = await GraphQLClient.login(stack.gateway_url, b.owner_email, b.owner_password)
    subscriber = Subscriber(stack, client, a.series_ids[:1], after_ns=time.time_ns() - 10**12)
    try:
        await subscriber.subscribe()
        message = await next_message(subscriber.ws, "next")
        assert message["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        assert "data" not in message["payload"] or message["payload"]["data"] is None
    finally:
        await subscriber.ws.close()
        await client.close()


async def test_a_resume_reaches_back_as_far_as_the_plans_raw_window(stack, signer):
    """RELIABILITY G2: a resume replays a raw read, held to the plan's raw window (the standard plan's 31 days,
    less the day ahead of now that ingest accepts): an `after` 29 days back replays what is stored, one 40 days
    back is refused with TIME_RANGE_TOO_WIDE before anything is read."""
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Resume window")
    day_ns = 86_400 * 10**9
    stored_ns = time.time_ns() - day_ns
    await publish(stack, tenant, stored_ns, count=1, per_second=100)
    client = await GraphQLClient.login(stack.gateway_url, tenant.owner_email, tenant.owner_password)
    answers = []
    try:
        for days in (29, 40):
            subscriber = Subscriber(
                stack, client, tenant.series_ids[:1], after_ns=time.time_ns() - days * day_ns
            )
            await subscriber.subscribe()
            answers.append((await next_message(subscriber.ws, "next"))["payload"])
            await subscriber.ws.close()
    finally:
        await client.close()
    replayed, refused = answers
    assert parse_timestamp(replayed["data"]["liveValues"]["timestamp"]) == stored_ns
    extensions = refused["errors"][0]["extensions"]
    assert (extensions["code"], extensions["reason"]) == ("BAD_USER_INPUT", "TIME_RANGE_TOO_WIDE"), refused
