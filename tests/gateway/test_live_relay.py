"""The live relay keeps at most its capacity waiting for a subscriber that does not take, reading Redis
at Redis's pace, and counts what made way."""

from __future__ import annotations

import asyncio
import json

import redis.asyncio as aioredis

from gateway.graphql.live import LiveRelay, relay


async def test_a_subscriber_that_takes_nothing_holds_at_most_the_capacity(redis_url):
    client = aioredis.Redis.from_url(redis_url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe("t:relay-test:live")
    waiting = LiveRelay(capacity=100)
    feeding = asyncio.create_task(relay(pubsub.listen(), {"s1"}, waiting))
    try:
        for n in range(5_000):
            points = [{"s": "s1", "t": n, "v": 1.0}, {"s": "other", "t": n, "v": 2.0}]
            await client.publish("t:relay-test:live", json.dumps({"points": points}))
        for _ in range(200):  # the feeder keeps reading Redis while nobody takes
            if waiting.dropped == 4_900:
                break
            await asyncio.sleep(0.05)
        assert (waiting.dropped, waiting.most_waiting) == (4_900, 100)
        first, missed = await waiting.take()
        assert (first["t"], missed) == (4_900, 4_900)  # the newest 100 waited; the rest were counted
        rest = [await waiting.take() for _ in range(99)]
        assert [p["t"] for p, _ in rest] == list(range(4_901, 5_000)) and all(m == 0 for _, m in rest)
    finally:
        feeding.cancel()
        await pubsub.aclose()
        await client.aclose()


async def test_a_failed_feed_ends_the_subscription_with_its_error():
    async def broken():
        yield {"data": json.dumps({"points": [{"s": "s1", "t": 1, "v": 1.0}]})}
        raise ConnectionError("redis went away")

    waiting = LiveRelay(capacity=10)
    await relay(broken(), {"s1"}, waiting)
    assert (await waiting.take())[0]["t"] == 1  # what arrived first is still delivered
    try:
        await waiting.take()
    except ConnectionError as error:
        assert str(error) == "redis went away"
    else:
        raise AssertionError("the feed's failure did not reach the subscription")
