"""RELIABILITY D7: the token buckets a process holds while Redis does not answer give Redis's answers.

`LocalBuckets` is what ingest's quotas and the gateway's rate limits fall back to; each scenario runs
against the Lua script in a real Redis and against `LocalBuckets`, at the same instants. Rates are a
binary fraction of a token a millisecond (1000 / 2^k a second), so both sides' sums are exact: Lua keeps
a bucket's tokens as a 14-digit string, Python as a double, and only inexact sums could round apart.
"""

from __future__ import annotations

import uuid

import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.runtime.buckets import _TAKE, SWEEP_FROM, LocalBuckets, Take, TokenBuckets
from services.runtime.keys import tenant_key
from services.runtime.redis_pool import redis_client
from sf.inprocess import free_port

RATES = st.sampled_from([1000 / 2**k for k in range(8)] + [2000.0, 5000.0])
STEPS = st.lists(st.tuples(st.integers(0, 3_000), st.integers(1, 400)), min_size=1, max_size=30)


class Clock:
    """An instant the test sets: the `now` both sides are given."""

    def __init__(self) -> None:
        self.ms = 1_700_000_000_000

    def __call__(self) -> float:
        return self.ms / 1000


@pytest.fixture
async def redis(redis_url: str):
    client = aioredis.from_url(redis_url)
    yield client
    await client.aclose()


def as_take(answer: list[int]) -> Take:
    allowed, remaining, wait_ms, full_ms = answer
    return Take(bool(allowed), int(remaining), wait_ms / 1000, full_ms / 1000)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rate=RATES, capacity=st.integers(1, 2_000), steps=STEPS)
async def test_local_buckets_answer_as_redis_does(redis, rate, capacity, steps):
    script, clock = redis.register_script(_TAKE), Clock()
    local, key = LocalBuckets(clock), tenant_key(uuid.uuid4(), "bucket-test")
    try:
        for advance_ms, cost in steps:
            clock.ms += advance_ms
            shared = as_take(await script(keys=[key], args=[rate, capacity, clock.ms, cost]))
            assert local.take(key, rate, capacity, cost) == shared, (clock.ms, cost)
    finally:
        await redis.delete(key)


def test_a_bucket_idle_until_full_is_forgotten_and_starts_full_again():
    clock = Clock()
    local = LocalBuckets(clock)
    assert local.take("k", 10.0, 20, 20) == Take(True, 0, 0.0, 2.0)
    assert local.take("k", 10.0, 20, 1) == Take(False, 0, 0.1, 2.0)
    clock.ms += 3_000  # full after 2 s, forgotten 1 s later, as Redis's key expires
    for n in range(SWEEP_FROM):
        local.take(f"other {n}", 10.0, 20)
    assert len(local) == SWEEP_FROM  # "k" swept out once more were held than the sweep allows
    assert local.take("k", 10.0, 20, 20).allowed


async def test_a_dark_redis_leaves_the_limit_to_the_process(caplog):
    """The fallback itself: a client whose Redis refuses every command still refuses past the capacity."""
    dark = redis_client(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens: refused
    buckets = TokenBuckets(dark)
    try:
        taken = [await buckets.take("dark", 1.0, 3) for _ in range(4)]
    finally:
        await dark.aclose()
    assert [take.allowed for take in taken] == [True, True, True, False]
    assert taken[-1].wait_s > 0
    held = [record for record in caplog.records if "held by this process alone" in record.message]
    assert len(held) == 1  # the first, then at most once a minute
