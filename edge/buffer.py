"""The agent's durable queue: every reading sits in SQLite from the moment a source hands it over until
the cloud has acknowledged the batch that carried it.

SQLite in WAL mode with ``synchronous=FULL``: a committed write survives a power cut as well as a
``kill -9``. Readings wait in arrival order; ``cut`` moves the oldest into a numbered batch in the
same transaction that records the batch, and ``acknowledge`` deletes a batch and its readings in
one. The buffer also keeps the session id and the next batch number, so after a restart the
unacknowledged batches are resent under their original numbers and the server recognises any it
had already stored: nothing is lost, nothing is stored twice.

When the file outgrows its cap (the cloud unreachable for too long) the oldest readings not yet in
a batch are deleted; the number is kept in the file, logged, and shown by ``status``. Values are kept
as their 64 bits (SQLite would turn a NaN into NULL), so every float arrives bit for bit.
"""

from __future__ import annotations

import logging
import sqlite3
import struct
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from edge.readings import Reading

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS series (id INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS readings (seq INTEGER PRIMARY KEY, series INTEGER NOT NULL, ts INTEGER NOT NULL,
                                     bits INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS batches (batch_no INTEGER PRIMARY KEY, first_seq INTEGER NOT NULL,
                                    last_seq INTEGER NOT NULL, lane INTEGER NOT NULL);
"""
LIVE, BACKFILL = 0, 1  # the Ingest lanes (ingest_pb2.Lane)


@dataclass(frozen=True)
class StoredBatch:
    """A batch as the buffer keeps it: its number, lane and its readings' columns per series."""

    batch_no: int
    lane: int
    columns: dict[str, tuple[list[int], list[float]]]

    @property
    def points(self) -> int:
        return sum(len(ts) for ts, _ in self.columns.values())


@dataclass(frozen=True)
class BufferStatus:
    waiting: int  # readings not yet in a batch
    in_flight: int  # readings in batches sent and not yet acknowledged
    batches: int
    dropped: int  # readings deleted to stay under the cap, ever
    oldest_ns: int | None
    size_bytes: int


class Buffer:
    """One SQLite file; use from one thread (the agent's event loop)."""

    def __init__(self, path: Path, max_bytes: int = 100 * 2**20) -> None:
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._max_bytes = max_bytes
        self._series: dict[str, int] = dict(self._db.execute("SELECT uuid, id FROM series"))
        self.session_id = self._meta("session_id") or self._init_session()
        self._caught_up = True  # whether the last batch cut found nothing behind it

    def close(self) -> None:
        self._db.close()

    def append(self, readings: Sequence[Reading]) -> int:
        """Keep ``readings`` durably; returns how many old readings the cap pushed out (usually 0)."""
        try:
            with self._transaction():
                rows = [(self._series_key(r.series_id), r.ts_ns, _bits(r.value)) for r in readings]
                self._db.executemany("INSERT INTO readings (series, ts, bits) VALUES (?, ?, ?)", rows)
                return self._enforce_cap(len(rows))
        except BaseException:
            self._series = dict(self._db.execute("SELECT uuid, id FROM series"))  # forget rolled-back series
            raise

    def cut(self, max_points: int, live_after_ns: int) -> StoredBatch | None:
        """Put the oldest waiting readings in the next batch.

        Live lane only when the agent is caught up: nothing waits behind this batch, its newest
        reading is recent, and the batch before was caught up too (so the tail of a drained backlog
        still counts as backlog). Otherwise it is draining a backlog: the backfill lane.
        """
        with self._transaction():
            start = self._db.execute("SELECT coalesce(max(last_seq), 0) FROM batches").fetchone()[0]
            rows = self._db.execute(
                "SELECT seq, s.uuid, ts, bits FROM readings JOIN series s ON s.id = readings.series"
                " WHERE seq > ? ORDER BY seq LIMIT ?",
                (start, max_points),
            ).fetchall()
            if not rows:
                return None
            behind = self._db.execute("SELECT EXISTS (SELECT 1 FROM readings WHERE seq > ?)", (rows[-1][0],))
            caught_up = not behind.fetchone()[0] and max(r[2] for r in rows) >= live_after_ns
            lane = LIVE if caught_up and self._caught_up else BACKFILL
            self._caught_up = caught_up
            batch_no = int(self._meta("next_batch_no"))
            self._db.execute(
                "INSERT INTO batches VALUES (?, ?, ?, ?)", (batch_no, rows[0][0], rows[-1][0], lane)
            )
            self._set_meta("next_batch_no", str(batch_no + 1))
        return StoredBatch(batch_no, lane, _columns(rows))

    def unacknowledged(self) -> list[StoredBatch]:
        """The batches cut before and not acknowledged yet, oldest first: what to resend after a restart."""
        batches = []
        for batch_no, first, last, lane in self._db.execute(
            "SELECT * FROM batches ORDER BY batch_no"
        ).fetchall():
            rows = self._db.execute(
                "SELECT seq, s.uuid, ts, bits FROM readings JOIN series s ON s.id = readings.series"
                " WHERE seq BETWEEN ? AND ? ORDER BY seq",
                (first, last),
            ).fetchall()
            batches.append(StoredBatch(batch_no, lane, _columns(rows)))
        return batches

    def acknowledge(self, batch_no: int) -> None:
        """Forget a batch the cloud has stored, with its readings."""
        with self._transaction():
            span = self._db.execute("SELECT first_seq, last_seq FROM batches WHERE batch_no = ?", (batch_no,))
            for first, last in span.fetchall():
                self._db.execute("DELETE FROM readings WHERE seq BETWEEN ? AND ?", (first, last))
            self._db.execute("DELETE FROM batches WHERE batch_no = ?", (batch_no,))

    def status(self) -> BufferStatus:
        start = self._db.execute("SELECT coalesce(max(last_seq), 0), count(*) FROM batches").fetchone()
        waiting, oldest = self._db.execute(
            "SELECT count(*), min(ts) FROM readings WHERE seq > ?", (start[0],)
        ).fetchone()
        total = self._db.execute("SELECT count(*) FROM readings").fetchone()[0]
        return BufferStatus(
            waiting, total - waiting, start[1], int(self._meta("dropped")), oldest, self._size()
        )

    def _init_session(self) -> str:
        session_id = str(uuid.uuid4())
        with self._transaction():
            for key, value in (("session_id", session_id), ("next_batch_no", "1"), ("dropped", "0")):
                self._set_meta(key, value)
        return session_id

    def _series_key(self, series_id: str) -> int:
        key = self._series.get(series_id)
        if key is None:
            key = self._db.execute(
                "INSERT INTO series (uuid) VALUES (?) RETURNING id", (series_id,)
            ).fetchone()[0]
            self._series[series_id] = key
        return key

    def _enforce_cap(self, added: int) -> int:
        """Delete the oldest waiting readings while the file is over its cap; count and report them."""
        if self._size() <= self._max_bytes:
            return 0
        start = self._db.execute("SELECT coalesce(max(last_seq), 0) FROM batches").fetchone()[0]
        dropped = self._db.execute(
            "DELETE FROM readings WHERE seq IN (SELECT seq FROM readings WHERE seq > ? ORDER BY seq LIMIT ?)",
            (start, max(added, 1000)),
        ).rowcount
        total = int(self._meta("dropped")) + dropped
        self._set_meta("dropped", str(total))
        log.warning(
            "edge buffer over its cap of %d MB: dropped the %d oldest readings (%d in all)",
            self._max_bytes // 2**20, dropped, total,
        )  # fmt: skip
        return dropped

    def _size(self) -> int:
        """Bytes in use: pages minus free pages (a full file keeps its size; deletes free pages for reuse)."""
        pages = self._db.execute("PRAGMA page_count").fetchone()[0]
        free = self._db.execute("PRAGMA freelist_count").fetchone()[0]
        return (pages - free) * self._db.execute("PRAGMA page_size").fetchone()[0]

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on an exception (sqlite3's own context manager only commits)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")


_DOUBLE, _INT64 = struct.Struct("<d"), struct.Struct("<q")


def _bits(value: float) -> int:
    return _INT64.unpack(_DOUBLE.pack(value))[0]


def _columns(rows: list[tuple]) -> dict[str, tuple[list[int], list[float]]]:
    columns: dict[str, tuple[list[int], list[float]]] = {}
    for _, series_id, ts, bits in rows:
        timestamps, values = columns.setdefault(series_id, ([], []))
        timestamps.append(ts)
        values.append(_DOUBLE.unpack(_INT64.pack(bits))[0])
    return columns
