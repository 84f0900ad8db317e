"""The compaction rules: one hour of one series, its small blocks merged into few large ones, in one swap.

- Only blocks lying wholly inside the hour take part (a block spanning hours stays as it is), so a
  merged block never crosses an hour, a day or a weekly partition.
- An hour is rewritten only when it has more blocks than its points need (``ceil(points / target)``):
  a job done twice, or an hour already compacted, writes nothing.
- One value per (series, timestamp), the rule ingest enforces (docs/INGEST.md, first write wins): blocks
  are read in the order they were stored (their identity ``id``; a compacted block takes the place of the
  blocks it merged, so it is older than anything stored after it) and of equal timestamps the first one
  read is kept. Ingest never stores a second value for a timestamp, so this drops nothing it wrote.
- The hour's rollups (services/runtime/rollups.py) are rewritten in the same transaction where worth
  keeping, also for an hour needing no merge that lacks them (writers of its blocks deleted them).
- The swap (insert the new rows, delete the old) is one transaction; ingest's per-series lock
  (``pg_try_advisory_xact_lock``) is taken only for the swap, after the merge, and the hour must still
  hold the blocks read: no ingest write and no other worker can interleave, and the series' live writes do
  not wait for a merge. A worker killed at any moment leaves either the old blocks or the new ones. A busy
  series, or an hour that got a block meanwhile, is left for later.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass

from services.runtime import rollups
from services.runtime.background import low_priority_threads
from services.runtime.blocks import Block
from services.runtime.compaction import Job
from services.runtime.transactions import CellTransactions
from services.worker import storage
from services.worker.merging import HourRework, reading_groups


@dataclass(frozen=True)
class Outcome:
    busy: bool = False  # another writer held the series: try again later
    merged: int = 0  # blocks replaced
    written: int = 0  # blocks written in their place
    rollups: int = 0  # rollup rows written for the hour


BUSY = Outcome(busy=True)


def needs_compaction(counts: list[int], target: int) -> bool:
    return len(counts) > math.ceil(sum(counts) / target)


class _Busy(Exception):
    """The series is held by a writer, or the hour changed while merged: roll back and try later."""


READ_BYTES = 2 * 2**20  # payload read and decoded at once: an hour's is hundreds of MB at fast rates


class CompactionService:
    def __init__(
        self, cells: CellTransactions, target_points: int = 4096, read_bytes: int = READ_BYTES
    ) -> None:
        self._cells = cells
        self._target = target_points
        self._read_bytes = read_bytes
        self._threads = low_priority_threads(1, "compaction")  # decoding an hour must not slow serving

    async def compact(self, job: Job) -> Outcome:
        """Merge the hour's blocks if they are more than their points need, and keep its rollups current."""
        try:
            async with self._cells.tenant(job.tenant_id, job.cell) as conn:
                return await self._compact(conn, job)
        except (_Busy, storage.BlocksChanged):
            return BUSY  # rolled back: merged blocks already inserted go too

    async def _compact(self, conn, job: Job) -> Outcome:
        hour = job.range_ns
        old = await storage.hour_blocks(conn, job.tenant_id, job.series_id, *hour)
        if not old:
            return Outcome()
        merge = needs_compaction([b.count for b in old], self._target)
        if not merge and not await self._rollups_missing(conn, job, old):
            return Outcome()
        # Merged blocks are inserted as they are made (uncommitted: no reader sees them before the swap),
        # so neither the hour's payloads nor its merged ones are ever held whole.
        work = HourRework(job.series_id, hour[0], merge, self._target)
        new_ids, new_bytes = [], 0
        async for made in self._merged(conn, job, work, old):
            new_ids += await storage.insert_blocks(conn, job.tenant_id, made)
            new_bytes += sum(len(b.payload) for b in made)
        # The series' lock only for the swap: ingest's writers of the series (its current hour) wait for
        # it, and merging a fast hour takes seconds. The hour must still hold what was read.
        if not await storage.try_lock_series(conn, job.series_id):
            raise _Busy
        if await storage.hour_block_ids(conn, job.tenant_id, job.series_id, *hour) != sorted(
            [b.id for b in old] + new_ids
        ):
            raise _Busy  # a late block came meanwhile: the next pass merges it too
        if merge:
            await storage.delete_blocks(conn, job.tenant_id, job.series_id, hour, [b.id for b in old])
        kept_blocks, kept_bytes = (len(new_ids), new_bytes) if merge else (len(old), sum(b.size for b in old))
        kept = await self._in_thread(work.rollups, kept_blocks, kept_bytes)
        await storage.replace_rollups(conn, job.tenant_id, job.series_id, hour[0], kept)
        return Outcome(merged=len(old) if merge else 0, written=len(new_ids), rollups=len(kept))

    async def _merged(
        self, conn, job: Job, work: HourRework, old: list[storage.BlockInfo]
    ) -> AsyncIterator[list[Block]]:
        """The merged blocks ``work`` makes as the hour's payloads are read, a group at a time."""
        for group in reading_groups(old, self._read_bytes):
            stored = await storage.with_payloads(conn, job.tenant_id, job.series_id, group)
            yield await self._in_thread(work.feed, stored)
        yield work.finish()

    async def _in_thread(self, call, *args):
        """``call`` in the low-priority thread (decoding, encoding and folding take seconds of CPU)."""
        return await asyncio.get_running_loop().run_in_executor(self._threads, call, *args)

    async def _rollups_missing(self, conn, job: Job, blocks: list[storage.BlockInfo]) -> bool:
        """Whether the hour should have rollups and has none (every change to its blocks deletes them)."""
        size = sum(b.size for b in blocks)
        wanted = any(rollups.worth_keeping(w, len(blocks), size) for w in rollups.WIDTHS)
        return wanted and not await storage.has_rollups(conn, job.tenant_id, job.series_id, job.range_ns[0])
