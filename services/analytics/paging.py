"""Raw points a page at a time: blocks read in time order in bounded chunks, decoded only until the page is
full, and the page token that continues a read where the last page ended.

- **Chunks.** Blocks come in ``(start_ns, id)`` order, ``CHUNK_BLOCKS`` per statement, each statement
  starting after the last block of the one before (keyset, on the primary key's order). All statements
  of one page run in one snapshot (REPEATABLE READ), so a compaction that commits meanwhile is seen
  wholly or not at all: no block is skipped or read twice.
- **Merging.** Blocks of one hour may overlap before compaction (a late batch), so a point is final only
  once every block that could hold an earlier point is decoded: with blocks decoded in start order, every
  point before the next unread block's start is. Blocks are decoded one by one and merged only when
  enough points have come to fill the page, so a page decodes about as many blocks as it needs.
- **One value per timestamp**, the store's rule (docs/INGEST.md: the first stored wins, and ingest never
  stores a second): should two blocks hold one timestamp, the older block's (smaller id) value counts, as
  compaction keeps it (docs/COMPACTION.md).
- **Tokens.** A page ends after a point; its token holds that point's timestamp and a fingerprint of
  the series and range it was read for. The next page reads from the following nanosecond, in a new
  snapshot. Stored points keep their values through compaction, so the pages of a read are the range's
  points, each once, in time order, whatever compaction did in between.

Pure numpy; the SQL comes in as ``fetch`` (services/analytics/storage.py ``block_chunk``).
"""

from __future__ import annotations

import base64
import hashlib
import struct
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import numpy as np

import tscodec
from services.runtime.errors import InvalidArgument

CHUNK_BLOCKS = 64  # blocks per statement: at most this many payloads are held at once
TOKEN_VERSION = 1
_TOKEN = struct.Struct(">Bq8s")  # version, last timestamp returned, fingerprint of (series, range)

# (after (start_ns, id) or None, how many) -> rows of (id, start_ns, payload) in (start_ns, id) order
Fetch = Callable[[tuple[int, int] | None, int], Awaitable[list[tuple[int, int, bytes]]]]


@dataclass
class ReadStats:
    """What the page reads of one process have held at most: a measure of their memory, not a guess."""

    peak_payloads: int = 0  # block payloads fetched and not yet decoded, at once
    peak_points: int = 0  # decoded points held by one page read, at once
    statements: int = 0
    blocks: int = 0  # blocks decoded
    pages: int = 0  # pages made (ReadPoints answers and StreamPoints messages)
    open_streams: int = 0  # StreamPoints calls in progress

    def reset(self) -> None:
        self.peak_payloads = self.peak_points = self.statements = self.blocks = self.pages = 0

    def held(self, payloads: int, points: int) -> None:
        self.peak_payloads = max(self.peak_payloads, payloads)
        self.peak_points = max(self.peak_points, points)


def page_token(series_id: uuid.UUID, start_ns: int, end_ns: int, last_ns: int) -> str:
    raw = _TOKEN.pack(TOKEN_VERSION, last_ns, _fingerprint(series_id, start_ns, end_ns))
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def resume_at(token: str, series_id: uuid.UUID, start_ns: int, end_ns: int) -> int:
    """Where a read continues: ``start_ns`` without a token, else the nanosecond after its last point."""
    if not token:
        return start_ns
    try:
        version, last_ns, fingerprint = _TOKEN.unpack(
            base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        )
    except (ValueError, struct.error):
        version, last_ns, fingerprint = 0, 0, b""
    if (
        version != TOKEN_VERSION
        or fingerprint != _fingerprint(series_id, start_ns, end_ns)
        or not start_ns <= last_ns < end_ns
    ):
        raise InvalidArgument.of(
            "page_token",
            "is not a token this API gave out for this series and range",
            reason="BAD_PAGE_TOKEN",
        )
    return last_ns + 1


def _fingerprint(series_id: uuid.UUID, start_ns: int, end_ns: int) -> bytes:
    return hashlib.blake2b(f"{series_id}|{start_ns}|{end_ns}".encode(), digest_size=8).digest()


async def read_page(
    fetch: Fetch, lo: int, hi: int, limit: int, stats: ReadStats
) -> tuple[np.ndarray, np.ndarray, bool]:
    """The first ``limit`` points in ``[lo, hi)``, and whether more follow."""
    merged = _Merger(lo, hi)
    after: tuple[int, int] | None = None
    while True:
        rows = await fetch(after, CHUNK_BLOCKS)
        stats.statements += 1
        exhausted = len(rows) < CHUNK_BLOCKS
        for at, (block_id, start, payload) in enumerate(rows):
            stats.held(len(rows) - at, merged.size)
            rows[at] = (block_id, start, b"")  # its payload goes once decoded
            merged.add(block_id, *tscodec.decode(payload))
            stats.blocks += 1
            stats.held(0, merged.size)
            final = rows[at + 1][1] if at + 1 < len(rows) else hi if exhausted else start
            if merged.unsettled >= limit + 1 - merged.settled or at + 1 == len(rows):
                merged.settle(final)
                if merged.settled > limit:
                    timestamps, values = merged.points()
                    return timestamps[:limit], values[:limit], True
        if exhausted:
            merged.settle(hi)
            timestamps, values = merged.points()
            return timestamps[:limit], values[:limit], timestamps.size > limit
        after = rows[-1][1], rows[-1][0]


class _Merger:
    """Points of blocks given in start order: settled ones in time order, one per timestamp, and the rest."""

    def __init__(self, lo: int, hi: int) -> None:
        self._range = lo, hi
        self._settled: list[tuple[np.ndarray, np.ndarray]] = []
        self._open: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.settled = 0
        self.unsettled = 0

    @property
    def size(self) -> int:
        return self.settled + self.unsettled

    def add(self, block_id: int, timestamps: np.ndarray, values: np.ndarray) -> None:
        """A decoded block (its points in time order), cut to the range."""
        a, b = np.searchsorted(timestamps, self._range, side="left")
        if b > a:
            self._open.append((timestamps[a:b], values[a:b], np.full(b - a, block_id, np.int64)))
            self.unsettled += b - a

    def settle(self, before: int) -> None:
        """Every point before ``before`` is final: no block still to come holds an earlier one."""
        if not self._open:
            return
        timestamps, values, ids = (np.concatenate(c) for c in zip(*self._open, strict=True))
        if timestamps.size > 1 and not np.all(timestamps[1:] > timestamps[:-1]):
            order = np.lexsort((ids, timestamps))  # by time, then the older block first
            timestamps, values, ids = timestamps[order], values[order], ids[order]
            first = np.append(True, timestamps[1:] != timestamps[:-1])
            timestamps, values, ids = timestamps[first], values[first], ids[first]
        cut = int(np.searchsorted(timestamps, before, side="left"))
        if cut:
            self._settled.append((timestamps[:cut], values[:cut]))
            self.settled += cut
        self._open = [(timestamps[cut:], values[cut:], ids[cut:])] if cut < timestamps.size else []
        self.unsettled = timestamps.size - cut

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """The settled points (call after settling at the range's end to have them all)."""
        if not self._settled:
            return np.empty(0, np.int64), np.empty(0, np.float64)
        return np.concatenate([p[0] for p in self._settled]), np.concatenate([p[1] for p in self._settled])
