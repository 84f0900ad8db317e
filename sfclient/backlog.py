"""The batches of one device the server has not acknowledged yet, bounded by a point budget.

A batch stays here from the moment it is made until its acknowledgement
arrives, across reconnects, so that whatever a broken stream swallowed is sent
again. Memory is bounded: past the budget the oldest batches are dropped and
handed back to the caller, who must count and report them.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field

from sfcloud.v1 import ingest_pb2


@dataclass(frozen=True)
class Batch:
    batch_no: int
    request: ingest_pb2.IngestRequest
    points: int
    queued_at: float = field(default_factory=time.monotonic)


class Backlog:
    """Unacknowledged batches in batch-number order."""

    def __init__(self, max_points: int) -> None:
        if max_points <= 0:
            raise ValueError(f"max_points must be positive, not {max_points}")
        self.max_points = max_points
        self.points = 0
        self._batches: OrderedDict[int, Batch] = OrderedDict()

    def __len__(self) -> int:
        return len(self._batches)

    def has_room(self, points: int, share: float = 1.0) -> bool:
        """Whether ``points`` more fit within ``share`` of the budget (always true when empty)."""
        return not self._batches or self.points + points <= self.max_points * share

    def add(self, batch: Batch) -> list[Batch]:
        """Keep ``batch``; returns the oldest batches dropped to stay within the budget (never ``batch``)."""
        if self._batches and batch.batch_no <= next(reversed(self._batches)):
            raise ValueError(f"batch {batch.batch_no} is not newer than the backlog's last")
        self._batches[batch.batch_no] = batch
        self.points += batch.points
        dropped = []
        while self.points > self.max_points and len(self._batches) > 1:
            _, oldest = self._batches.popitem(last=False)
            self.points -= oldest.points
            dropped.append(oldest)
        return dropped

    def replace(self, batch: Batch) -> Batch:
        """Put a changed version of a held batch in its place (same number, same position)."""
        if batch.batch_no in self._batches:
            self._batches[batch.batch_no] = batch
        return batch

    def ack(self, batch_no: int) -> Batch | None:
        """Forget an acknowledged batch; None when it is not here (already dropped or acknowledged)."""
        batch = self._batches.pop(batch_no, None)
        if batch is not None:
            self.points -= batch.points
        return batch

    def from_number(self, batch_no: int) -> list[Batch]:
        """The batches numbered ``batch_no`` or higher, oldest first (cheap when they are few)."""
        newer = []
        for batch in reversed(self._batches.values()):
            if batch.batch_no < batch_no:
                break
            newer.append(batch)
        newer.reverse()
        return newer
