"""Raw points in pages: tokens that continue a read, overlapping and late blocks merged, a read that decodes
only what its page needs, StreamPoints with bounded server memory and cancellation, and bad tokens."""

from __future__ import annotations

import asyncio
import uuid

import numpy as np
import pytest

from services.analytics.paging import CHUNK_BLOCKS
from services.runtime.blocks import encode_block
from tests.analytics.helpers import Query, assert_refused, drain, split_blocks, write_blocks, write_row

S = 10**9
MINUTE, HOUR = 60 * S, 3600 * S
HOUR0 = 1_790_000_000 // 3600 * HOUR


@pytest.fixture
def reads(stack):
    """The analytics server's page-read measurements, from zero."""
    stats = stack.servers["analytics"].service.reads
    stats.reset()
    return stats


async def all_pages(query: Query, series, lo: int, hi: int, limit: int) -> tuple[list, list, int]:
    timestamps, values, token, pages = [], [], "", 0
    while True:
        page = await query.read(series, lo, hi, limit, token)
        pages += 1
        assert len(page.timestamps_ns) <= limit and page.has_more == bool(page.next_page_token)
        timestamps += page.timestamps_ns
        values += page.values
        if not page.has_more:
            return timestamps, values, pages
        assert len(page.timestamps_ns) == limit
        token = page.next_page_token


async def big_series(series_maker, tenant, admin_conn, blocks: int, per_block: int) -> uuid.UUID:
    """``blocks`` blocks of ``per_block`` points a second apart, one after the other from HOUR0."""
    series = await series_maker.new()
    timestamps = HOUR0 + np.arange(blocks * per_block, dtype=np.int64) * S
    cuts = set(range(per_block, blocks * per_block, per_block))
    write_blocks(
        admin_conn, tenant.id, series, timestamps, timestamps % 1000 / 4, split_blocks(timestamps, cuts)
    )
    return series


async def test_pages_continue_with_tokens_across_overlapping_late_blocks(
    query, tenant, admin_conn, series_maker
):
    series = await series_maker.new()
    minutes = HOUR0 + np.arange(0, 60, 2, dtype=np.int64) * MINUTE  # every other minute, one block
    write_blocks(admin_conn, tenant.id, series, minutes, np.arange(30.0), [slice(0, 30)])
    # Late blocks inside the same hour, stored later: odd minutes, and one timestamp already held.
    late = HOUR0 + np.array([1, 3, 4, 59], dtype=np.int64) * MINUTE
    write_blocks(admin_conn, tenant.id, series, late[:2], np.array([100.0, 101.0]), [slice(0, 2)])
    write_row(admin_conn, tenant.id, encode_block(series, late[2:], np.array([-1.0, 102.0])))
    want_ts = np.concatenate([minutes, late[[0, 1, 3]]])
    want_vs = np.concatenate([np.arange(30.0), [100.0, 101.0, 102.0]])
    order = np.argsort(want_ts)
    for limit in (1, 2, 7, 33, 34, 1000):
        timestamps, values, pages = await all_pages(query, series, HOUR0, HOUR0 + HOUR, limit)
        assert (
            timestamps == want_ts[order].tolist() and values == want_vs[order].tolist()
        )  # minute 4 kept 2.0
        assert pages == -(-33 // limit)
    # A page that ends exactly at the last point says so: no token, no more.
    whole = await query.read(series, HOUR0, HOUR0 + HOUR, 33)
    assert (len(whole.timestamps_ns), whole.has_more, whole.next_page_token) == (33, False, "")
    # The stream gives the same points, a page per message, each with the token to resume after it.
    messages = [m async for m in query.stream(series, HOUR0, HOUR0 + HOUR, 10)]
    assert [len(m.timestamps_ns) for m in messages] == [10, 10, 10, 3]
    assert [t for m in messages for t in m.timestamps_ns] == want_ts[order].tolist()
    assert [bool(m.next_page_token) for m in messages] == [True, True, True, False]
    resumed = [m async for m in query.stream(series, HOUR0, HOUR0 + HOUR, 10, messages[1].next_page_token)]
    assert [list(m.timestamps_ns) for m in resumed] == [list(m.timestamps_ns) for m in messages[2:]]


async def test_a_small_page_of_a_big_range_decodes_only_what_it_needs(
    query, tenant, admin_conn, series_maker, reads
):
    series = await big_series(series_maker, tenant, admin_conn, blocks=3 * CHUNK_BLOCKS, per_block=50)
    page = await query.read(series, HOUR0 - HOUR, HOUR0 + 10 * HOUR, 120)
    assert page.timestamps_ns == (HOUR0 + np.arange(120) * S).tolist() and page.has_more
    assert (reads.statements, reads.blocks) == (1, 3)  # 121 points: three blocks of one chunk
    assert reads.peak_points <= 150


async def test_a_streamed_range_keeps_server_memory_bounded(query, tenant, admin_conn, series_maker, reads):
    blocks, per_block, page_size = 10 * CHUNK_BLOCKS, 400, 3000
    series = await big_series(series_maker, tenant, admin_conn, blocks, per_block)
    total, last = 0, HOUR0 - 1
    async for message in query.stream(series, HOUR0, HOUR0 + 100 * HOUR, page_size):
        assert len(message.timestamps_ns) <= page_size and message.timestamps_ns[0] > last
        total, last = total + len(message.timestamps_ns), message.timestamps_ns[-1]
    assert total == blocks * per_block and reads.pages == -(-total // page_size)
    # Never more than one chunk of payloads, nor much more than a page and a block of decoded points.
    assert reads.peak_payloads <= CHUNK_BLOCKS
    assert reads.peak_points <= page_size + 2 * per_block
    assert reads.blocks <= blocks + 2 * reads.pages  # each page re-reads at most its first block or two


async def test_a_cancelled_stream_stops_reading(query, tenant, admin_conn, series_maker, reads):
    series = await big_series(series_maker, tenant, admin_conn, blocks=200, per_block=100)
    # Flow control: while the client reads nothing, the server stops once the HTTP/2 window is full.
    call = query.stream(series, HOUR0, HOUR0 + 100 * HOUR, 10)
    first = await call.read()
    assert len(first.timestamps_ns) == 10
    await asyncio.sleep(0.5)
    assert 1 <= reads.pages < 2000  # (about 280 here) it did not run ahead through the whole range
    call.cancel()
    for _ in range(100):
        if reads.open_streams == 0:
            break
        await asyncio.sleep(0.05)
    assert reads.open_streams == 0
    made = reads.pages
    await asyncio.sleep(0.3)
    assert reads.pages == made < 2000  # nothing read after the cancellation
    # The service carries on.
    assert len((await query.read(series, HOUR0, HOUR0 + HOUR, 5)).timestamps_ns) == 5


async def test_bad_page_tokens_and_sizes_are_refused_and_the_service_serves_on(
    query, tenant, admin_conn, series_maker
):
    series = await big_series(series_maker, tenant, admin_conn, blocks=2, per_block=10)
    other = await big_series(series_maker, tenant, admin_conn, blocks=2, per_block=10)
    hi = HOUR0 + HOUR
    token = (await query.read(series, HOUR0, hi, 5)).next_page_token
    assert token
    cases = [
        (query.read(series, HOUR0, hi, 5, "not-a-token"), "page_token", "BAD_PAGE_TOKEN"),
        (query.read(series, HOUR0, hi, 5, token[:-2]), "page_token", "BAD_PAGE_TOKEN"),
        (query.read(other, HOUR0, hi, 5, token), "page_token", "BAD_PAGE_TOKEN"),  # another series
        (query.read(series, HOUR0 + 1, hi, 5, token), "page_token", "BAD_PAGE_TOKEN"),  # another range
        (query.read(series, HOUR0, hi, 100_001), "limit", None),
        (query.read(series, hi, HOUR0, 5), "range", "EMPTY_RANGE"),
        (drain(query.stream(series, HOUR0, hi, 5, "!!")), "page_token", "BAD_PAGE_TOKEN"),
        (drain(query.stream(series, HOUR0, hi, 100_001)), "page_size", None),
        (drain(query.stream(series, hi, hi, 5)), "range", "EMPTY_RANGE"),
    ]
    await assert_refused(cases)
    rest = await query.read(series, HOUR0, hi, 100, token)
    assert rest.timestamps_ns == (HOUR0 + np.arange(5, 20) * S).tolist() and not rest.has_more
