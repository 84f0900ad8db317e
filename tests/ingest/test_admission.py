"""The in-flight byte budget: what fits goes at once, what does not waits a bounded time in arrival order and
is then refused with SERVER_BUSY and a retry delay; the budget is never exceeded and always given back."""

from __future__ import annotations

import asyncio
import time

import grpc
import numpy as np
import pytest

import tscodec
from services.ingest.admission import (
    ENTRY_BYTES,
    HELD_BYTES_PER_NUMBER,
    WORK_BYTES_PER_POINT,
    Admission,
    footprint,
)
from services.ingest.batches import IncomingBlock, IncomingSeries
from services.ingest.errors import ServerBusy


async def hold(admission: Admission, cost: int, release: asyncio.Event, entered: asyncio.Event | None = None):
    async with admission.admit(cost):
        if entered:
            entered.set()
        await release.wait()


async def started(coro) -> asyncio.Task:
    """A task that has run up to its first wait."""
    task = asyncio.create_task(coro)
    await asyncio.sleep(0)
    return task


async def test_what_fits_is_admitted_at_once_and_given_back():
    admission = Admission(100, wait_s=0.05)
    async with admission.admit(60):
        async with admission.admit(40):
            assert admission.in_flight == 100
    assert (admission.in_flight, admission.high_water) == (0, 100)


async def test_what_does_not_fit_is_refused_after_the_wait_with_a_retry_delay():
    admission = Admission(100, wait_s=0.05, retry_after_s=1.0, jitter=lambda: 0.5)
    release = asyncio.Event()
    holder = await started(hold(admission, 80, release))
    began = time.monotonic()
    with pytest.raises(ServerBusy) as caught:
        async with admission.admit(30):
            pytest.fail("admitted over the budget")
    waited = time.monotonic() - began
    assert 0.04 <= waited < 0.09
    error = caught.value
    assert error.code == grpc.StatusCode.RESOURCE_EXHAUSTED and error.reason == "SERVER_BUSY"
    assert error.retry_after_s == pytest.approx(1.5)
    assert "overloaded" in error.message and "retry in 1.5 s" in error.message
    assert (admission.in_flight, admission.refused) == (80, 1)
    release.set()
    await holder
    assert admission.in_flight == 0 and admission.high_water == 80


async def test_a_waiter_is_admitted_when_room_frees_within_the_wait():
    admission = Admission(100, wait_s=1.0)
    release = asyncio.Event()
    holder = await started(hold(admission, 80, release))
    asyncio.get_running_loop().call_later(0.01, release.set)
    async with admission.admit(30):
        assert admission.in_flight == 30
    await holder
    assert admission.high_water == 80


async def test_a_batch_larger_than_the_budget_goes_alone():
    admission = Admission(100, wait_s=1.0)
    async with admission.admit(250):
        assert admission.in_flight == 250
    release = asyncio.Event()
    holder = await started(hold(admission, 10, release))
    asyncio.get_running_loop().call_later(0.01, release.set)
    async with admission.admit(250):  # waits for the small one to finish
        assert admission.in_flight == 250
    await holder


async def test_waiters_go_in_arrival_order_so_a_large_batch_is_not_overtaken():
    admission = Admission(100, wait_s=1.0)
    release, order = asyncio.Event(), []

    async def batch(name: str, cost: int):
        async with admission.admit(cost):
            order.append(name)

    holder = await started(hold(admission, 60, release))
    large = await started(batch("large", 90))
    small = await started(batch("small", 10))  # would fit now, but the large one came first
    assert order == []
    release.set()
    await asyncio.gather(holder, large, small)
    assert order == ["large", "small"]
    assert admission.high_water == 100


async def test_a_cancelled_waiter_leaves_the_queue_and_lets_those_behind_it_in():
    admission = Admission(100, wait_s=1.0)
    release, entered = asyncio.Event(), asyncio.Event()
    holder = await started(hold(admission, 60, release))
    large = await started(hold(admission, 90, asyncio.Event()))
    small = await started(hold(admission, 10, release, entered))
    large.cancel()
    with pytest.raises(asyncio.CancelledError):
        await large
    await asyncio.wait_for(entered.wait(), 1)
    assert admission.in_flight == 70
    release.set()
    await asyncio.gather(holder, small)
    assert admission.in_flight == 0


async def test_an_error_in_the_body_gives_the_budget_back():
    admission = Admission(100, wait_s=0.05)
    with pytest.raises(RuntimeError):
        async with admission.admit(70):
            raise RuntimeError("database down")
    assert admission.in_flight == 0


async def test_under_many_concurrent_batches_the_budget_is_never_exceeded():
    """RELIABILITY D5: The in-flight byte budget holds under many concurrent batches."""
    admission = Admission(1000, wait_s=0.02)
    outcomes = []

    async def batch(cost: int):
        try:
            async with admission.admit(cost):
                assert admission.in_flight <= 1000
                await asyncio.sleep(0.005)
            outcomes.append("stored")
        except ServerBusy:
            outcomes.append("refused")

    await asyncio.gather(*(batch(100 + 37 * (n % 11)) for n in range(300)))
    assert admission.high_water <= 1000 and admission.in_flight == 0
    assert {"stored", "refused"} == set(outcomes)
    assert outcomes.count("refused") == admission.refused


def test_footprint_counts_what_the_request_holds_and_the_work_per_point():
    plain = IncomingSeries("s", list(range(1000)), [1.0] * 1000)
    assert footprint([plain]) == ENTRY_BYTES + 2000 * HELD_BYTES_PER_NUMBER + 1000 * WORK_BYTES_PER_POINT
    payload = tscodec.encode(np.arange(5000, dtype=np.int64), np.zeros(5000))
    block = IncomingBlock("s", payload)
    assert footprint([], [block]) == ENTRY_BYTES + len(payload) + 5000 * WORK_BYTES_PER_POINT
    garbage = IncomingBlock("s", b"not a block")  # refused by validation before it is decoded
    assert footprint([], [garbage]) == ENTRY_BYTES + len(b"not a block")
