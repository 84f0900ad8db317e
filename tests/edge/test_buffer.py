"""The edge buffer keeps readings across restarts, numbers batches for good, and drops only loudly."""

from __future__ import annotations

import math
import struct

import pytest

from edge.buffer import BACKFILL, LIVE, Buffer
from edge.readings import Reading

A, B = "6f1c0f52-8d1e-4b8e-9a57-0c6f3d1f2a01", "6f1c0f52-8d1e-4b8e-9a57-0c6f3d1f2a02"


def readings(n: int, start: int = 0, series: str = A) -> list[Reading]:
    return [Reading(series, start + i, float(i)) for i in range(n)]


@pytest.fixture
def path(tmp_path):
    return tmp_path / "buffer.db"


def test_batches_take_the_oldest_readings_in_order(path):
    buffer = Buffer(path)
    buffer.append(readings(5, series=A) + readings(3, start=100, series=B))
    first = buffer.cut(4, live_after_ns=0)
    second = buffer.cut(100, live_after_ns=0)
    assert (first.batch_no, second.batch_no) == (1, 2)
    assert first.columns == {A: ([0, 1, 2, 3], [0.0, 1.0, 2.0, 3.0])}
    assert second.columns == {A: ([4], [4.0]), B: ([100, 101, 102], [0.0, 1.0, 2.0])}
    assert buffer.cut(100, live_after_ns=0) is None


def test_only_a_caught_up_batch_of_recent_readings_goes_live(path):
    buffer = Buffer(path)
    buffer.append(readings(3, start=1_000))
    assert buffer.cut(2, live_after_ns=0).lane == BACKFILL  # a reading waits behind it: draining a backlog
    assert buffer.cut(2, live_after_ns=0).lane == BACKFILL  # the backlog's tail
    buffer.append(readings(1, start=2_000))
    assert buffer.cut(2, live_after_ns=0).lane == LIVE  # caught up since the batch before
    buffer.append(readings(1, start=3_000))
    assert buffer.cut(2, live_after_ns=3_001).lane == BACKFILL  # caught up, but old


def test_a_restart_resends_what_was_not_acknowledged_under_the_same_numbers(path):
    buffer = Buffer(path)
    buffer.append(readings(10))
    first, second = buffer.cut(4, 0), buffer.cut(4, 0)
    buffer.acknowledge(first.batch_no)
    session = buffer.session_id
    buffer.close()

    reopened = Buffer(path)
    assert reopened.session_id == session
    assert reopened.unacknowledged() == [second]
    third = reopened.cut(100, 0)
    assert third.batch_no == 3 and third.columns[A][0] == [8, 9]
    status = reopened.status()
    assert (status.waiting, status.in_flight, status.batches) == (0, 6, 2)


def test_numbers_keep_rising_after_everything_was_acknowledged(path):
    buffer = Buffer(path)
    buffer.append(readings(2))
    buffer.acknowledge(buffer.cut(10, 0).batch_no)
    buffer.close()
    reopened = Buffer(path)
    reopened.append(readings(2, start=10))
    assert reopened.cut(10, 0).batch_no == 2


def test_values_come_back_bit_for_bit(path):
    quiet_nan = struct.unpack("<d", struct.pack("<Q", 0x7FF8_0000_0000_1234))[0]
    values = [quiet_nan, math.inf, -math.inf, -0.0, 5e-324, 1.7976931348623157e308]
    buffer = Buffer(path)
    buffer.append([Reading(A, i, v) for i, v in enumerate(values)])
    got = buffer.cut(10, 0).columns[A][1]
    assert [struct.pack("<d", v) for v in got] == [struct.pack("<d", v) for v in values]


def test_over_its_cap_the_buffer_drops_the_oldest_waiting_readings_and_counts_them(path, caplog):
    """RELIABILITY D4: At its cap the buffer drops the oldest readings, counted and logged, never silently."""
    buffer = Buffer(path, max_bytes=256 * 1024)
    in_flight = buffer.cut(10, 0)
    assert in_flight is None
    buffer.append(readings(100))
    kept_batch = buffer.cut(100, 0)
    for chunk in range(40):
        buffer.append(readings(1_000, start=1_000 + chunk * 1_000))
    status = buffer.status()
    assert status.dropped > 0
    assert status.size_bytes <= 256 * 1024 + 64 * 1024
    assert status.waiting + status.dropped == 40_000
    assert buffer.unacknowledged() == [kept_batch]  # what is in flight is never dropped
    assert "over its cap" in caplog.text
    oldest = buffer.cut(1, 0).columns[A][0][0]
    assert oldest == 1_000 + status.dropped
