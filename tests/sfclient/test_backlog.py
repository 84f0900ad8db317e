"""The backlog keeps unacknowledged batches in order and drops only the oldest, visibly."""

import pytest

from sfclient.backlog import Backlog, Batch
from sfcloud.v1 import ingest_pb2


def batch(batch_no: int, points: int = 10) -> Batch:
    return Batch(batch_no, ingest_pb2.IngestRequest(batch_no=batch_no), points)


def test_acknowledged_batches_leave_and_the_rest_stay_in_order():
    backlog = Backlog(max_points=100)
    for n in range(1, 6):
        assert backlog.add(batch(n)) == []
    assert backlog.ack(2).batch_no == 2 and backlog.ack(2) is None
    assert [b.batch_no for b in backlog.from_number(0)] == [1, 3, 4, 5]
    assert [b.batch_no for b in backlog.from_number(4)] == [4, 5]
    assert backlog.from_number(6) == []
    assert backlog.points == 40 and len(backlog) == 4


def test_past_the_budget_the_oldest_are_dropped_and_returned():
    backlog = Backlog(max_points=30)
    for n in range(1, 4):
        backlog.add(batch(n))
    dropped = backlog.add(batch(4, points=15))
    assert [b.batch_no for b in dropped] == [1, 2]
    assert [b.batch_no for b in backlog.from_number(0)] == [3, 4] and backlog.points == 25


def test_a_batch_bigger_than_the_budget_is_kept_alone():
    backlog = Backlog(max_points=5)
    backlog.add(batch(1, points=3))
    assert [b.batch_no for b in backlog.add(batch(2, points=50))] == [1]
    assert len(backlog) == 1 and backlog.has_room(1) is False


def test_room_is_counted_against_a_share_of_the_budget():
    backlog = Backlog(max_points=100)
    assert backlog.has_room(500)  # an empty backlog takes anything
    backlog.add(batch(1, points=40))
    assert backlog.has_room(60) and not backlog.has_room(61)
    assert backlog.has_room(10, share=0.5) and not backlog.has_room(11, share=0.5)


def test_batch_numbers_must_increase():
    backlog = Backlog(max_points=100)
    backlog.add(batch(3))
    with pytest.raises(ValueError, match="not newer"):
        backlog.add(batch(3))


def test_a_replaced_batch_keeps_its_place():
    backlog = Backlog(max_points=100)
    for n in (1, 2, 3):
        backlog.add(Batch(n, ingest_pb2.IngestRequest(batch_no=n), 1))
    changed = Batch(2, ingest_pb2.IngestRequest(batch_no=2, lane=ingest_pb2.LANE_BACKFILL), 1)
    assert backlog.replace(changed) is changed
    assert [b.request.lane for b in backlog.from_number(0)] == [0, ingest_pb2.LANE_BACKFILL, 0]
