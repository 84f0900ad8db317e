"""The in-flight byte budget: what fits goes at once, what does not waits a bounded time in arrival order and
is then refused with SERVER_BUSY and a retry delay; the budget is never exceeded and always given back."""

from __future__ import annotations

import asyncio
import time
import tracemalloc

import grpc
import numpy as np
import pytest
from psycopg.adapt import PyFormat, Transformer

import tscodec
from services.ingest.admission import (
    ENTRY_BYTES,
    FURTHER_BLOCK_BYTES,
    HELD_BYTES_PER_NUMBER,
    WORK_BYTES_PER_POINT,
    Admission,
    footprint,
)
from services.ingest.batches import IncomingBlock, IncomingSeries, validate
from services.ingest.errors import ServerBusy
from services.ingest.service import encode_blocks
from services.runtime.blocks import column_arrays

HOUR = 3600 * 10**9
START = 1_796_000_000 * 10**9  # 2026-11-30 21:33 UTC
NOW = START + 400 * HOUR
SERIES = "00000000-0000-0000-0000-000000000001"


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


def further_charged(entries: list[IncomingSeries], blocks: list[IncomingBlock] = ()) -> int:
    """The blocks beyond one per entry that ``footprint`` charged for."""
    points = sum(len(e.timestamps_ns) for e in entries)
    plain = len(entries) * ENTRY_BYTES + points * (2 * HELD_BYTES_PER_NUMBER + WORK_BYTES_PER_POINT)
    held = sum(
        ENTRY_BYTES + len(b.payload) + tscodec.stats(b.payload).count * WORK_BYTES_PER_POINT for b in blocks
    )
    further, rest = divmod(footprint(entries, blocks) - plain - held, FURTHER_BLOCK_BYTES)
    assert rest == 0
    return further


def made(entries: list[IncomingSeries], blocks: list[IncomingBlock] = ()) -> int:
    """The block rows ingest makes of a batch."""
    return sum(len(encode_blocks(s)) for s in validate(entries, blocks, now_ns=NOW))


def plain(*timestamps: int) -> IncomingSeries:
    return IncomingSeries(SERIES, np.array(timestamps, dtype=np.int64), [1.0] * len(timestamps))


def test_each_further_utc_hour_is_charged_a_block_exactly_when_in_order():
    """RELIABILITY S2: ingest stores a block per UTC hour a series' points lie in; admission charges each."""
    across = plain(START, START + HOUR, START + HOUR + 1, START + 3 * HOUR)
    assert made([across]) == 3 and further_charged([across]) == 2
    apart = plain(*(START + HOUR * np.arange(50)).tolist())
    assert made([apart]) == 50 and further_charged([apart]) == 49
    within = plain(START, START + 1, START + 2)
    assert made([within]) == 1 and further_charged([within]) == 0


def test_out_of_order_or_split_points_are_charged_at_least_the_blocks_they_make():
    """The count over arrival order bounds the blocks from above; an entry's edge is no change of hour."""
    shuffled = plain(START, START + HOUR, START + 1, START + HOUR + 1)
    assert made([shuffled]) == 2 and further_charged([shuffled]) == 3
    split = [plain(START), plain(), plain(START + HOUR), plain(START + HOUR + 1, START + 2 * HOUR)]
    assert made(split) == 3 and further_charged(split) == 1  # the first of each entry is charged with it
    assert made(split) <= sum(len(e.timestamps_ns) > 0 for e in split) + further_charged(split)


def test_a_device_block_is_charged_the_hours_its_header_spans_at_most_its_points():
    three_hours = START + np.array([0, HOUR, 2 * HOUR + 5], dtype=np.int64)
    spanning = IncomingBlock(SERIES, tscodec.encode(three_hours, np.zeros(3)))
    assert made([], [spanning]) == 3 and further_charged([], [spanning]) == 2
    sparse = START + np.array([0, 200 * HOUR], dtype=np.int64)  # 201 hours spanned, two points
    gap = IncomingBlock(SERIES, tscodec.encode(sparse, np.zeros(2)))
    assert made([], [gap]) == 2 and further_charged([], [gap]) == 1


def test_a_further_block_holds_no_more_than_it_is_charged():
    """RELIABILITY D5: a block's row and its part of the write's binary parameters (psycopg's own dumping),
    per block beyond the first, measured against ``FURTHER_BLOCK_BYTES`` with blocks of one point each."""

    def held(step_ns: int) -> int:
        entries = [plain(*(START - step_ns * np.arange(2_000, 0, -1)).tolist())]
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        rows = [row for s in validate(entries, now_ns=NOW) for row in encode_blocks(s)]
        columns = column_arrays(rows)
        Transformer().dump_sequence(columns, [PyFormat.BINARY] * len(columns))
        return tracemalloc.get_traced_memory()[1] - before

    tracemalloc.start()
    try:
        held(HOUR)  # the codec's first calls leave buffers tracemalloc counts as held (freed past it: S2)
        per_block = (held(HOUR) - held(1)) / 1_999  # 2,000 blocks against one
    finally:
        tracemalloc.stop()
    assert 500 < per_block <= FURTHER_BLOCK_BYTES
