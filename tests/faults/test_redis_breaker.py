"""RELIABILITY D7: a client with a command timeout stops asking a Redis gone dark (real Redis behind the
fault proxy): one command waits out the timeout, the next fail at once, one probes after the open window
while the others still fail at once, and the first answer after the restore lets everyone through."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from redis.exceptions import ConnectionError, TimeoutError

from services.runtime.keys import tenant_key
from services.runtime.redis_breaker import OPEN_S
from services.runtime.redis_pool import redis_client
from tests.faults.proxy import FaultProxy, through, upstream_of

TIMEOUT_S = 0.2
AT_ONCE_S = 0.05


async def took(call) -> tuple[BaseException | object, float]:
    """What ``call`` returned or raised, and how long it took."""
    started = time.perf_counter()
    try:
        outcome = await call
    except (ConnectionError, TimeoutError) as error:
        outcome = error
    return outcome, time.perf_counter() - started


@pytest.fixture
async def dark_able(redis_url):
    """A proxy that can go dark, a client through it, and a key of a tenant of the test's own (every key is
    a tenant's, RELIABILITY I5), deleted afterwards."""
    key = tenant_key(uuid.uuid4(), "breaker")
    async with FaultProxy(*upstream_of(redis_url)) as proxy:
        client = redis_client(through(redis_url, proxy), command_timeout_s=TIMEOUT_S)
        yield proxy, client, key
        proxy.restore()
        await asyncio.sleep(OPEN_S)
        await client.delete(key)
        await client.aclose()


async def test_a_dark_redis_is_asked_once_a_window_and_answered_again_after_the_restore(dark_able):
    proxy, client, key = dark_able
    assert await client.set(key, "1")
    proxy.blackhole()

    first, first_s = await took(client.get(key))
    assert isinstance(first, TimeoutError) and TIMEOUT_S <= first_s < TIMEOUT_S + 0.2, (first, first_s)
    for _ in range(20):  # scripts and pipelines too: all of them fail at once
        refused, refused_s = await took(client.get(key))
        assert isinstance(refused, ConnectionError) and refused_s < AT_ONCE_S, (refused, refused_s)
    async with client.pipeline() as pipe:
        pipe.get(key)
        refused, refused_s = await took(pipe.execute())
    assert isinstance(refused, ConnectionError) and "did not answer" in str(refused), refused

    await asyncio.sleep(OPEN_S)
    probe = asyncio.ensure_future(took(client.get(key)))
    await asyncio.sleep(0)  # the probe is on its way: the others still fail at once
    others = [await took(client.get(key)) for _ in range(5)]
    assert all(isinstance(o, ConnectionError) and s < AT_ONCE_S for o, s in others), others
    probed, probed_s = await probe
    assert isinstance(probed, TimeoutError) and probed_s >= TIMEOUT_S, (probed, probed_s)

    proxy.restore()
    refused, _ = await took(client.get(key))
    assert isinstance(refused, ConnectionError), refused  # the window the failed probe opened
    await asyncio.sleep(OPEN_S)
    assert await client.get(key) == b"1"
    answers = [await took(client.get(key)) for _ in range(20)]
    assert all(outcome == b"1" for outcome, _ in answers), answers


async def test_an_error_redis_answered_does_not_open_it(dark_able):
    _, client, key = dark_able
    await client.set(key, "not a number")
    for _ in range(3):
        with pytest.raises(Exception, match="not an integer"):
            await client.incr(key)
    assert await client.get(key) == b"not a number"


async def test_a_probe_redis_answered_with_an_error_closes_it(dark_able):
    """A script run first after a restore is answered `NOSCRIPT`; its load must not meet the window the
    probe opened, or every run of the script fails until something else probes."""
    proxy, client, key = dark_able
    script = client.register_script(
        f"-- {uuid.uuid4()}: never loaded before\nreturn redis.call('GET', KEYS[1])"
    )
    await client.set(key, "1")
    proxy.blackhole()
    dark, _ = await took(client.get(key))
    assert isinstance(dark, TimeoutError), dark
    proxy.restore()
    await asyncio.sleep(OPEN_S)
    assert await script(keys=[key]) == b"1"  # NOSCRIPT to the probe, then the load, then the run


async def test_a_new_pub_sub_connection_goes_through_it(dark_able):
    """The hub's connection for live values: refused at once while the breaker is open, and its
    unanswered handshake opens it for the other commands."""
    proxy, client, key = dark_able
    proxy.blackhole()
    first = client.pubsub()
    unanswered, unanswered_s = await took(first.subscribe(key))
    await first.aclose()
    assert isinstance(unanswered, TimeoutError) and unanswered_s >= TIMEOUT_S, (unanswered, unanswered_s)
    refused, refused_s = await took(client.get(key))
    assert isinstance(refused, ConnectionError) and refused_s < AT_ONCE_S, (refused, refused_s)
    second = client.pubsub()
    refused, refused_s = await took(second.subscribe(key))
    await second.aclose()
    assert isinstance(refused, ConnectionError) and refused_s < AT_ONCE_S, (refused, refused_s)
