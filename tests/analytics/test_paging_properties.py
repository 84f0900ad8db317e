"""Property: the pages of a read, put together, are the range's points, each once, in time order, whatever
the page size, with late blocks overlapping earlier ones, timestamps stored twice, and compaction run before
the read or between its pages (ReadPoints with tokens) or while a stream is read (StreamPoints).

Data is written as in test_query_properties.py: random points cut into blocks; then "late" blocks with
random timestamps of the same span, stored after them, some on timestamps already held (the first stored
value counts, as ingest and compaction keep it).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.runtime.compaction import HOUR_NS, Job
from services.runtime.settings import DEFAULT_CELL
from services.worker.service import CompactionService
from tests.analytics.helpers import split_blocks, write_blocks

S = 10**9
BASES = [datetime(2026, 3, 6, 22, tzinfo=UTC), datetime(2026, 10, 24, 23, 30, tzinfo=UTC)]
SPANS = [10 * S, 2 * HOUR_NS + 7 * S, 5 * HOUR_NS]


def offsets(span: int, max_size: int):
    return st.lists(st.integers(0, span - 1), min_size=1, max_size=max_size, unique=True).map(
        lambda xs: np.sort(np.array(xs, dtype=np.int64))
    )


def values(n: int):
    quarters = st.one_of(st.integers(-4000, 4000).map(lambda q: q / 4), st.just(math.nan))
    return st.lists(quarters, min_size=n, max_size=n).map(np.array)


@st.composite
def stored(draw):
    """(first points, their cuts), (late points, their cuts), and a range around them."""
    base = int(draw(st.sampled_from(BASES)).timestamp()) * S
    span = draw(st.sampled_from(SPANS))
    first = base + draw(offsets(span, 250))
    late = base + draw(offsets(span, 60))
    parts = []
    for timestamps in (first, late):
        cuts = set(draw(st.lists(st.integers(1, timestamps.size), max_size=25)))
        parts.append((timestamps, draw(values(timestamps.size)), cuts))
    lo = base + draw(st.integers(-span // 4, span))
    hi = lo + draw(st.integers(1, span + span // 2))
    return parts, lo, hi


def expected(parts, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """Points in [lo, hi), in time order; of a timestamp stored twice, the first stored value."""
    (t1, v1, _), (t2, v2, _) = parts
    fresh = ~np.isin(t2, t1)
    timestamps, vals = np.concatenate([t1, t2[fresh]]), np.concatenate([v1, v2[fresh]])
    order = np.argsort(timestamps)
    timestamps, vals = timestamps[order], vals[order]
    keep = (timestamps >= lo) & (timestamps < hi)
    return timestamps[keep], vals[keep]


async def compact(compactor: CompactionService, tenant, series, parts) -> None:
    hours = np.unique(np.concatenate([p[0] for p in parts]) // HOUR_NS)
    for hour in hours.tolist():
        outcome = await compactor.compact(Job(DEFAULT_CELL, tenant.id, series, hour))
        assert not outcome.busy


def same(got_ts: list, got_vs: list, want: tuple[np.ndarray, np.ndarray]) -> None:
    assert got_ts == want[0].tolist()
    np.testing.assert_array_equal(np.array(got_vs, dtype=np.float64), want[1])  # NaN equals NaN here


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


@SETTINGS
@given(data=stored(), limit=st.integers(1, 400), compact_at=st.integers(-1, 6), target=st.integers(3, 64))
async def test_pages_put_together_are_the_whole_range(
    query, tenant, admin_conn, series_maker, worker_cells, data, limit, compact_at, target
):
    parts, lo, hi = data
    series = await series_maker.new()
    for timestamps, vals, cuts in parts:
        write_blocks(admin_conn, tenant.id, series, timestamps, vals, split_blocks(timestamps, cuts))
    want = expected(parts, lo, hi)
    compactor = CompactionService(worker_cells, target_points=target)
    got_ts, got_vs, token, page_no = [], [], "", 0
    while True:
        if page_no == compact_at:  # 0: before the read; later: between two pages
            await compact(compactor, tenant, series, parts)
        page = await query.read(series, lo, hi, limit, token)
        got_ts += page.timestamps_ns
        got_vs += page.values
        page_no += 1
        if not page.has_more:
            break
        token = page.next_page_token
    same(got_ts, got_vs, want)
    assert page_no == max(1, -(-want[0].size // limit))
    # The same read as a stream, compacting (again) after its first message.
    got_ts, got_vs = [], []
    async for message in query.stream(series, lo, hi, limit):
        if not got_ts:
            await compact(compactor, tenant, series, parts)
        got_ts += message.timestamps_ns
        got_vs += message.values
    same(got_ts, got_vs, want)
