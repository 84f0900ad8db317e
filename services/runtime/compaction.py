"""The compaction queue: ingest says which (series, UTC hour) got a new block, the worker merges them.

Two Redis keys, shared by every tenant (they hold ids only, never telemetry; the one exception to the
`t:{tenant}:` key prefix, because one worker pool serves all tenants):

- `compact:due`, a sorted set. A member is one hour of one series, ``{cell}|{tenant}|{series}|{hour}``
  (``hour`` = start_ns // 3600 s); its score is the Unix second at which that hour counts as closed
  (its end plus the grace), so live data is not rewritten while it still arrives. ``ZADD NX``: telling
  twice is telling once. A late block for an hour already compacted adds the member again, due at once.
- `compact:jobs`, a stream read by the consumer group `compactors`. Any worker moves the due members
  there, atomically (one Lua script), then workers share them with XREADGROUP, XACK them after the
  compaction commits, and XAUTOCLAIM what a dead worker left pending.

Every block lies within one UTC hour (services/runtime/blocks.py), so a block's hour is that of its start,
and compaction never moves a block across an hour, a day or a weekly partition.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from services.runtime.blocks import BLOCK_SPAN_NS

log = logging.getLogger(__name__)

DUE_KEY = "compact:due"
JOBS_KEY = "compact:jobs"
GROUP = "compactors"
HOUR_NS = BLOCK_SPAN_NS  # a job is one block span of one series
DEFAULT_GRACE_S = 600  # an hour is compacted 10 minutes after it ends


@dataclass(frozen=True)
class Job:
    """One hour of one series to compact."""

    cell: str
    tenant_id: uuid.UUID
    series_id: uuid.UUID
    hour: int

    @property
    def member(self) -> str:
        return member_of(f"{self.cell}|{self.tenant_id}", self.series_id, self.hour)

    @classmethod
    def parse(cls, member: str | bytes) -> Job:
        """Raises ValueError for a member not made by ``member``."""
        text = member.decode() if isinstance(member, bytes) else member
        cell, tenant, series, hour = text.split("|")
        return cls(cell, uuid.UUID(tenant), uuid.UUID(series), int(hour))

    @property
    def range_ns(self) -> tuple[int, int]:
        """[start, end) of the hour."""
        return self.hour * HOUR_NS, (self.hour + 1) * HOUR_NS


def member_of(cell_and_tenant: str, series_id: uuid.UUID, hour: int) -> str:
    """A ``compact:due`` member; ``cell_and_tenant`` is ``{cell}|{tenant}``, made once per batch."""
    return f"{cell_and_tenant}|{series_id}|{hour}"


class CompactionNotices:
    """Ingest's side: after a commit, announce the hours that got a block.

    Best effort, like live values: a Redis failure is logged, never fails a committed batch (the blocks
    stay as they are, correct, just small). A member still waiting for its hour to close was announced
    already: this process does not send it again (one ZADD per series per open hour, not per batch).
    """

    def __init__(self, redis: Any, grace_s: int = DEFAULT_GRACE_S) -> None:
        self._redis = redis
        self._grace_s = grace_s
        self._waiting: dict[str, float] = {}  # member → its due time, while in the future

    def due_s(self, hour: int) -> float:
        return (hour + 1) * HOUR_NS / 10**9 + self._grace_s

    async def touched(self, cell: str, tenant_id: uuid.UUID, blocks: Iterable[tuple[uuid.UUID, int]]) -> None:
        """``blocks``: (series, start_ns) of each block just committed."""
        now = time.time()
        fresh: dict[str, float] = {}
        prefix = f"{cell}|{tenant_id}"
        for series_id, start_ns in blocks:
            hour = start_ns // HOUR_NS
            member = member_of(prefix, series_id, hour)
            if self._waiting.get(member, 0) <= now + 30:  # unknown, or due soon: a worker may take it
                fresh[member] = self.due_s(hour)
        if not fresh:
            return
        try:
            await self._redis.zadd(DUE_KEY, fresh, nx=True)
        except Exception as exc:  # compaction is housekeeping; storage already succeeded
            log.warning("compaction notice failed", extra={"error": repr(exc)})
            return
        self._remember(fresh, now)

    def _remember(self, fresh: dict[str, float], now: float) -> None:
        if len(self._waiting) > 100_000:
            self._waiting = {m: due for m, due in self._waiting.items() if due > now}
        self._waiting.update((m, due) for m, due in fresh.items() if due > now + 30)
