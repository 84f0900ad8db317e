"""Compaction's merging, without the stack: decoding an hour a block at a time gives the blocks and rollups
that decoding it whole gives, and holds about a block's points instead of the hour's."""

from __future__ import annotations

import os
import threading
import tracemalloc
import uuid

import numpy as np
import pytest

import tscodec
from services.runtime import rollups
from services.runtime.compaction import HOUR_NS
from services.worker.merging import HourRework, merged_points, reading_groups
from services.worker.service import CompactionService
from services.worker.storage import BlockInfo, StoredBlock

HOUR = 490_000 * HOUR_NS
SERIES = uuid.uuid4()


def stored(blocks: list[tuple[np.ndarray, np.ndarray]]) -> list[StoredBlock]:
    return [
        StoredBlock(n, int(t.min()), int(t.max()), t.size, tscodec.encode(t, v))
        for n, (t, v) in enumerate(blocks, start=1)
    ]


def rework(blocks: list[StoredBlock], merge: bool, target: int, read_bytes: int = 20_000):
    """What compaction makes of the hour, its payloads read ``read_bytes`` at a time as the service does."""
    by_id = {b.id: b for b in blocks}
    infos = [BlockInfo(b.id, b.start_ns, b.end_ns, b.count, len(b.payload)) for b in blocks]
    work = HourRework(SERIES, HOUR, merge, target)
    new = [
        made
        for group in reading_groups(infos, read_bytes)
        for made in work.feed([by_id[b.id] for b in group])
    ]
    new += work.finish()
    kept = new if merge else blocks
    return new, work.rollups(len(kept), sum(len(b.payload) for b in kept))


def live_hour(rng, sizes: list[int]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Blocks of a series written in time order, with some NaN values."""
    timestamps = HOUR + np.sort(rng.choice(HOUR_NS, sum(sizes), replace=False))
    values = np.round(rng.normal(50, 10, timestamps.size), 3)
    values[rng.random(values.size) < 0.01] = np.nan
    cuts = np.cumsum(sizes)[:-1]
    return list(zip(np.split(timestamps, cuts), np.split(values, cuts), strict=True))


def whole(blocks: list[StoredBlock], merge: bool, target: int):
    """What compaction made before: the hour decoded and sorted at once."""
    timestamps, values = merged_points([tscodec.decode(b.payload) for b in blocks])
    new = [(timestamps[i : i + target], values[i : i + target]) for i in range(0, timestamps.size, target)]
    summaries = {w: rollups.summarise(HOUR, w, timestamps, values) for w in rollups.WIDTHS}
    return (new if merge else []), summaries


def assert_same(got, expected) -> None:
    (blocks, kept), (expected_blocks, summaries) = got, expected
    assert len(blocks) == len(expected_blocks)
    for block, (timestamps, values) in zip(blocks, expected_blocks, strict=True):
        t, v = tscodec.decode(block.payload)
        assert np.array_equal(t, timestamps) and np.array_equal(v, values, equal_nan=True)
    for rollup in kept:
        entries, want = rollups.unpack(rollup.stats), rollups.unpack(summaries[rollup.width_ns].stats)
        for field in ("count", "min", "max", "first_ts", "first", "last_ts", "last"):
            assert np.array_equal(entries[field], want[field]), field
        np.testing.assert_allclose(entries["sum"], want["sum"], rtol=1e-12)  # summed a block at a time


@pytest.mark.parametrize("merge", [True, False])
def test_a_live_hour_decoded_a_block_at_a_time_compacts_as_decoded_whole(merge):
    rng = np.random.default_rng(1)
    blocks = stored(live_hour(rng, [int(n) for n in rng.integers(1, 3_000, 300)]))
    got = rework(blocks, merge, 4_096)
    assert {r.width_ns for r in got[1]} == set(rollups.WIDTHS)
    assert_same(got, whole(blocks, merge, 4_096))


def test_a_device_block_out_of_order_inside_is_sorted_and_keeps_its_first_value():
    rng = np.random.default_rng(2)
    pieces = live_hour(rng, [500, 500, 500])
    t, v = pieces[1]
    order = rng.permutation(t.size)
    pieces[1] = (np.append(t[order], t[order][0]), np.append(v[order], v[order][0] + 1))  # a repeat, later
    blocks = stored(pieces)
    assert_same(rework(blocks, True, 400), whole(blocks, True, 400))


def test_overlapping_blocks_are_merged_whole_and_the_first_stored_value_wins():
    rng = np.random.default_rng(3)
    live = live_hour(rng, [1_000, 1_000])
    t, v = live[0]
    backfill = (t[::2].copy(), v[::2] + 1000)  # stored later, same timestamps as the first block's
    blocks = stored([*live, backfill])
    got = rework(blocks, True, 4_096)
    assert_same(got, whole(blocks, True, 4_096))
    assert np.nanmax(tscodec.decode(got[0][0].payload)[1]) < 1000  # the backfill's values were not kept


def test_payloads_are_read_in_groups_of_the_budget_in_time_order_unless_blocks_overlap():
    def info(n: int, start: int, end: int, size: int) -> BlockInfo:
        return BlockInfo(n, start, end, 1, size)

    stored_late = [info(1, 20, 29, 6), info(2, 0, 9, 6), info(3, 10, 19, 6), info(4, 30, 39, 20)]
    groups = reading_groups(stored_late, 12)
    assert [[b.id for b in group] for group in groups] == [[2, 3], [1], [4]]  # a block over budget alone
    overlapping = [*stored_late, info(5, 15, 25, 1)]
    assert reading_groups(overlapping, 12) == [overlapping]  # merged whole, oldest stored first


@pytest.mark.parametrize("merge", [True, False])
def test_a_fast_hour_is_compacted_in_about_a_blocks_memory(merge):
    """4,000,000 points (64 MB once decoded, twice that sorted) in 100 blocks: at most 16 MB at once."""
    rng = np.random.default_rng(4)
    step = HOUR_NS // 4_000_000
    pieces = []
    for n in range(100):
        timestamps = HOUR + step * np.arange(n * 40_000, (n + 1) * 40_000, dtype=np.int64)
        pieces.append((timestamps, np.round(rng.normal(50, 10, timestamps.size), 2)))
    blocks = stored(pieces)
    del pieces
    tracemalloc.start()
    try:
        new, kept = rework(blocks, merge, 4_096 if merge else 40_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20, f"{peak / 2**20:.1f} MB held at once"
    assert sum(tscodec.stats(b.payload).count for b in new) == (4_000_000 if merge else 0)
    assert {r.width_ns for r in kept} == set(rollups.WIDTHS)


def test_compaction_runs_in_a_thread_that_yields_the_cpu_to_serving():
    """Decoding an hour takes seconds of CPU: on a busy machine the worker's event loop (and every other
    process's serving threads) come first. Linux sets a thread's priority alone."""
    service = CompactionService(cells=None)
    own = os.getpriority(os.PRIO_PROCESS, 0)
    thread_priority = service._threads.submit(
        lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    )
    assert thread_priority.result(10) == min(own + 10, 19)
    assert os.getpriority(os.PRIO_PROCESS, 0) == own  # the process's own stays
