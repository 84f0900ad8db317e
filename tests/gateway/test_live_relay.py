"""Subscriptions share one Redis pub/sub connection per gateway process (the channel hub), and each
keeps its own bounded queue: a subscriber that does not take holds at most its capacity, never the
others, and an event subscriber that falls behind is ended rather than silently missing events."""

from __future__ import annotations

import asyncio
import json

import pytest
import redis.asyncio as aioredis

from gateway.graphql.errors import ApiError
from gateway.graphql.hub import ChannelHub
from gateway.graphql.live import EventQueue, LiveRelay, SeriesFilter
from sf.embedded import EmbeddedRedis


async def publish_points(client: aioredis.Redis, channel: str, count: int) -> None:
    for n in range(count):
        points = [{"s": "s1", "t": n, "v": 1.0}, {"s": "other", "t": n, "v": 2.0}]
        await client.publish(channel, json.dumps({"points": points}))


async def until(condition, seconds: float = 10) -> None:
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


async def pubsub_clients(client: aioredis.Redis) -> int:
    return sum(1 for c in await client.client_list() if "P" in c["flags"])


async def test_a_subscriber_that_takes_nothing_holds_at_most_the_capacity_and_holds_up_no_one(redis_url):
    client = aioredis.Redis.from_url(redis_url)
    hub = ChannelHub(client)
    slow, fast = LiveRelay(capacity=100), LiveRelay(capacity=10_000)
    try:
        async with (
            hub.listening("t:relay-test:live", SeriesFilter({"s1"}, slow)),
            hub.listening("t:relay-test:live", SeriesFilter({"s1"}, fast)),
        ):
            await publish_points(client, "t:relay-test:live", 5_000)
            await until(lambda: slow.dropped == 4_900 and fast.most_waiting == 5_000)
            assert (slow.dropped, slow.most_waiting, fast.dropped) == (4_900, 100, 0)
            first, missed = await slow.take()
            assert (first["t"], missed) == (4_900, 4_900)  # the newest 100 waited; the rest were counted
            rest = [await slow.take() for _ in range(99)]
            assert [p["t"] for p, _ in rest] == list(range(4_901, 5_000)) and all(m == 0 for _, m in rest)
            assert [(await fast.take())[0]["t"] for _ in range(5_000)] == list(range(5_000))
    finally:
        await hub.close()
        await client.aclose()


async def test_many_subscriptions_share_one_connection_and_a_channel_is_left_with_its_last(redis_url):
    client = aioredis.Redis.from_url(redis_url)
    hub = ChannelHub(client)
    before = await pubsub_clients(client)
    relays = {channel: [LiveRelay() for _ in range(25)] for channel in ("t:hub-a:live", "t:hub-b:live")}
    try:
        async with asyncio.TaskGroup() as group:
            entered = asyncio.Event()
            leave = asyncio.Event()

            async def listen(channel: str, relay: LiveRelay) -> None:
                async with hub.listening(channel, SeriesFilter({"s1"}, relay)):
                    entered.set()
                    await leave.wait()

            for channel, waiting in relays.items():
                for relay in waiting:
                    group.create_task(listen(channel, relay))
            await until(
                lambda: hub.channels == 2 and all(r.most_waiting == 0 for w in relays.values() for r in w)
            )
            await asyncio.sleep(0.1)  # every listener in place
            assert await pubsub_clients(client) == before + 1  # 50 subscriptions, one Redis client
            await publish_points(client, "t:hub-a:live", 3)
            await until(lambda: all(r.most_waiting == 3 for r in relays["t:hub-a:live"]))
            assert all(r.most_waiting == 0 for r in relays["t:hub-b:live"])  # nothing from another channel
            leave.set()
        assert hub.channels == 0
        numsub = dict(await client.pubsub_numsub("t:hub-a:live", "t:hub-b:live"))
        assert numsub == {b"t:hub-a:live": 0, b"t:hub-b:live": 0}
    finally:
        await hub.close()
        await client.aclose()


async def test_an_event_subscriber_that_falls_behind_is_ended_after_what_it_was_given(redis_url):
    client = aioredis.Redis.from_url(redis_url)
    hub = ChannelHub(client)
    events = EventQueue(capacity=10)
    try:
        async with hub.listening("t:relay-test:alarms", events):
            for n in range(15):
                await client.publish("t:relay-test:alarms", json.dumps({"n": n}))
            await until(lambda: events.most_waiting == 10)
            await asyncio.sleep(0.1)  # the five past the capacity have arrived too
            assert [(await events.take())[0]["n"] for _ in range(10)] == list(range(10))
            with pytest.raises(ApiError) as ended:
                await events.take()
            assert ended.value.extensions == {"code": "RATE_LIMITED"}
            assert "fell 10 events behind" in str(ended.value)
    finally:
        await hub.close()
        await client.aclose()


async def test_a_lost_redis_ends_every_subscription_and_the_next_one_connects_afresh(tmp_path):
    redis = EmbeddedRedis(tmp_path / "redis")
    client = aioredis.Redis.from_url(redis.start())
    hub = ChannelHub(client)
    waiting = LiveRelay()
    try:
        async with hub.listening("t:lost:live", SeriesFilter({"s1"}, waiting)):
            redis.stop()
            with pytest.raises(ApiError) as ended:  # what to do about it, not Redis's error
                await asyncio.wait_for(waiting.take(), 30)
            assert ended.value.extensions == {"code": "UNAVAILABLE"} and "`after`" in str(ended.value)
        assert hub.channels == 0
        redis.start()
        again = LiveRelay()
        async with hub.listening("t:lost:live", SeriesFilter({"s1"}, again)):
            await publish_points(client, "t:lost:live", 1)
            assert (await asyncio.wait_for(again.take(), 10))[0]["t"] == 0
    finally:
        await hub.close()
        await client.aclose()
        redis.stop()
