"""How many batch bytes one ingest process works on at once: a budget that refuses rather than queues.

Each stream handles one batch at a time and the gRPC message limit bounds a batch, but nothing bounded how
many batches the process decodes and writes at once: under overload they piled up behind the database, each
holding several times its size in decoded columns, until the pool timed out seconds later. So a batch takes
its estimated :func:`footprint` from the process's budget before it is decoded and gives it back once it is
stored or refused. A batch that does not fit waits at most ``wait_s``, in arrival order, then is refused
whole with RESOURCE_EXHAUSTED (``SERVER_BUSY``) and a RetryInfo; nothing of it is stored, and the device
resends it later. Excess load is turned away within ``wait_s`` instead of being accepted and then starved.

What the budget cannot bound is reception: a stream holds the wire bytes of the last message it received
(up to the message limit), and a batch waiting for admission its timestamps and values as arrays (8 bytes
a number: the handler parses the message and lets it go, `handlers.received`). Only the message limit and
the number of devices per process bound that part. A stream that ended early (a refused batch ends it)
keeps nothing: the handler took its last bytes out of the holder gRPC's reader keeps
(`services/runtime/registration.py`, RELIABILITY D5).

The default budget (64 MB) is sized to the database, not to memory alone: at 256 MB, under heavy overload with
large batches (48 devices sending 100,000 points each, 8 MB of budget a batch) the process admitted about 32
batches for its 8 database connections, and the last of them waited for a connection until the pool's 5 s
timeout refused them as "database unavailable" (and starved the readiness check, so the process reported itself
down): the slow, misleading refusal this module exists to prevent (RELIABILITY D5).

A batch larger than the whole budget is admitted when nothing else is in flight: refusing it for good would
stop a device whose batch is valid (the message limit and ``MAX_POINTS`` already bound it), and a budget below
one batch is the operator's choice, not the device's fault. The process therefore holds at most
max(budget, one batch) of admitted work.

Backfill batches take their share only once they have their backfill turn (``service.py``), so a backlog
waiting for its turn never refuses live data. There is no cap on concurrent streams (gRPC's
``maximum_concurrent_rpcs``): devices keep their streams open and idle most of the time, so such a cap limits
connected devices rather than memory, counts health checks too, and refuses without a reason or RetryInfo.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

import tscodec
from services.ingest.batches import MAX_POINTS, IncomingBlock, IncomingSeries
from services.ingest.errors import ServerBusy
from services.runtime.blocks import BLOCK_SPAN_NS

RETRY_AFTER_S = 1.0  # RetryInfo before jitter: time for the batches in flight to finish
HELD_BYTES_PER_NUMBER = 8  # an int64 timestamp or a float64 value, as the request holds it
WORK_BYTES_PER_POINT = 64  # peak while validating and encoding: measured ~68 plain, ~25 from blocks
ENTRY_BYTES = 128  # a series id and message overhead per series entry or block
# Each block beyond an entry's first: ingest stores one per UTC hour a series' points lie in, and each
# holds ~530 bytes as a row (payload, statistics) and ~520 more in the write's binary parameters (measured
# 1,028-1,080 for blocks of one point; its compaction notice, ~420, comes after the parameters are gone).
FURTHER_BLOCK_BYTES = 1_200


def footprint(entries: list[IncomingSeries], blocks: Iterable[IncomingBlock] = ()) -> int:
    """The bytes a batch will hold while it is validated, encoded and written (an estimate, cheap to take).

    Computed from lengths, block headers and one pass over the plain timestamps for the UTC hours they lie
    in (~0.5 ms a million points within one hour, ~2 ms across hours): serialising the request to measure
    it (``ByteSize``) would cost tens of milliseconds of event loop for a 16 MiB batch, the very work the
    budget is there to bound."""
    sizes = [len(entry.timestamps_ns) for entry in entries]
    points = sum(sizes)
    numbers = points + sum(len(entry.values) for entry in entries)
    total = len(sizes) * ENTRY_BYTES + numbers * HELD_BYTES_PER_NUMBER + points * WORK_BYTES_PER_POINT
    total += _further_blocks(entries, sizes) * FURTHER_BLOCK_BYTES
    for block in blocks:
        decoded, further = _block_shape(block.payload)
        total += ENTRY_BYTES + len(block.payload) + decoded * WORK_BYTES_PER_POINT
        total += further * FURTHER_BLOCK_BYTES
    return total


def _further_blocks(entries: list[IncomingSeries], sizes: list[int]) -> int:
    """How often the UTC hour changes between neighbouring points of an entry, over all entries at once (per
    entry NumPy calls would cost more than a small entry's points). With each entry's first block charged
    with the entry, it bounds the blocks ingest makes of them: exactly when each entry is in time order, from
    above when not, or when a series is split over entries (its merged points lie in no more hours)."""
    filled = [size for size in sizes if size]
    if sum(filled) < 2:
        return 0
    parts = [entry.timestamps_ns for entry, size in zip(entries, sizes, strict=True) if size]
    stamps = np.asarray(parts[0], np.int64) if len(parts) == 1 else np.concatenate(parts, dtype=np.int64)
    if stamps.min() // BLOCK_SPAN_NS == stamps.max() // BLOCK_SPAN_NS:
        return 0  # the usual batch, all in one hour: told without dividing every point (~1.1 ms a million)
    hours = stamps // BLOCK_SPAN_NS
    changes = hours[1:] != hours[:-1]
    changes[np.cumsum(filled[:-1], dtype=np.int64) - 1] = False  # from one entry into the next: no change
    return int(np.count_nonzero(changes))


def _block_shape(payload: bytes) -> tuple[int, int]:
    """The points a block will decode to and the further blocks (hours) it may split into, from its header:
    no more than its points, nor than the hours its time range spans. A block validation will refuse (its
    header not describing its points included) costs nothing more."""
    try:
        stats = tscodec.stats(payload)
    except (tscodec.CodecError, TypeError, ValueError):
        return 0, 0
    points = min(stats.count, MAX_POINTS)
    hours = stats.max_ts // BLOCK_SPAN_NS - stats.min_ts // BLOCK_SPAN_NS + 1
    return points, max(0, min(points, hours) - 1)


@dataclass(eq=False)
class _Waiter:
    cost: int
    granted: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class Admission:
    """The process's budget of batch bytes in progress (one instance per ingest process, shared by all streams)."""

    def __init__(
        self,
        budget_bytes: int,
        wait_s: float,
        retry_after_s: float = RETRY_AFTER_S,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.budget_bytes = budget_bytes
        self.in_flight = 0  # bytes of the batches admitted and not yet finished
        self.high_water = 0  # the most ``in_flight`` has ever been: what the budget held the process to
        self.refused = 0
        self._wait_s = wait_s
        self._retry_after_s = retry_after_s
        self._jitter = jitter  # devices refused together do not all come back in the same instant
        self._waiters: deque[_Waiter] = deque()

    @contextlib.asynccontextmanager
    async def admit(self, cost: int) -> AsyncIterator[None]:
        """Hold ``cost`` bytes of the budget for the body, or raise ServerBusy after waiting at most ``wait_s``."""
        await self._acquire(cost)
        try:
            yield
        finally:
            self._release(cost)

    async def _acquire(self, cost: int) -> None:
        if not self._waiters and self._fits(cost):
            self._take(cost)
            return
        waiter = _Waiter(cost)
        self._waiters.append(waiter)
        try:
            await asyncio.wait((waiter.granted,), timeout=self._wait_s)
        except asyncio.CancelledError:  # the call ended while waiting
            self._withdraw(waiter)
            raise
        if not waiter.granted.done():
            self._withdraw(waiter)
            self.refused += 1
            raise self._busy()

    def _fits(self, cost: int) -> bool:
        return self.in_flight == 0 or self.in_flight + cost <= self.budget_bytes

    def _take(self, cost: int) -> None:
        self.in_flight += cost
        self.high_water = max(self.high_water, self.in_flight)

    def _release(self, cost: int) -> None:
        self.in_flight -= cost
        self._wake()

    def _wake(self) -> None:
        """Admit waiters in arrival order while the first fits, so a large batch is not overtaken forever."""
        while self._waiters and self._fits(self._waiters[0].cost):
            waiter = self._waiters.popleft()
            self._take(waiter.cost)
            waiter.granted.set_result(None)

    def _withdraw(self, waiter: _Waiter) -> None:
        """Leave the queue; a grant that came in the same instant is given back."""
        if waiter.granted.done():
            self._release(waiter.cost)
            return
        self._waiters.remove(waiter)
        waiter.granted.cancel()
        self._wake()  # the first waiter may have been blocking smaller ones behind it

    def _busy(self) -> ServerBusy:
        delay = self._retry_after_s * (1.0 + self._jitter())
        return ServerBusy(
            f"the server is overloaded and did not store this batch; retry in {delay:.1f} s",
            retry_after_s=delay,
        )
