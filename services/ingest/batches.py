"""Validating a batch and turning it into one sorted column pair per series.

A batch carries plain points and/or compressed blocks (tscodec, made on the device). Rules (each
broken rule rejects the whole batch, naming the field):
- every series id is a UUID; a series may appear more than once (its points are merged);
- every block is a valid tscodec blob (checksum, format, bounds) of at most MAX_POINTS points, whose header
  statistics are those of its points (they are stored beside it and answer queries);
- timestamps and values have the same length;
- every timestamp lies in the accepted window: from 1970-01-01 to one day ahead of now;
- a batch holds at most MAX_POINTS points and MAX_SERIES series.
Points are sorted by time (stably, so equal timestamps keep their order); a series sent as a single
block already in time order is stored as the device encoded it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

import tscodec
from services.ingest.errors import MalformedBatch

MAX_POINTS = 1_000_000
MAX_SERIES = 10_000
FUTURE_TOLERANCE_NS = 86_400 * 10**9


@dataclass(frozen=True)
class SeriesColumns:
    series_id: uuid.UUID
    timestamps: np.ndarray  # int64 ns, sorted
    values: np.ndarray  # float64
    payload: bytes | None = None  # the device's own block, when it can be stored as it is


@dataclass(frozen=True)
class IncomingSeries:
    """One series entry as it arrived, before validation (mirrors the protobuf message)."""

    series_id: str
    timestamps_ns: Iterable[int]
    values: Iterable[float]


@dataclass(frozen=True)
class IncomingBlock:
    """One compressed block as it arrived (mirrors the protobuf message)."""

    series_id: str
    payload: bytes


Part = tuple[np.ndarray, np.ndarray, bytes | None]


def validate(
    entries: list[IncomingSeries], blocks: list[IncomingBlock] = (), now_ns: int | None = None
) -> list[SeriesColumns]:
    if len(entries) + len(blocks) > MAX_SERIES:
        raise MalformedBatch.of("series", f"at most {MAX_SERIES} series and blocks per batch")
    latest = (now_ns or time.time_ns()) + FUTURE_TOLERANCE_NS
    merged: dict[uuid.UUID, list[Part]] = {}
    total = 0
    for field, series_id, timestamps, values, payload in _parts(entries, blocks):
        total += timestamps.size
        if total > MAX_POINTS:
            raise MalformedBatch.of("series", f"at most {MAX_POINTS} points per batch")
        _check_window(field, timestamps, latest)
        merged.setdefault(series_id, []).append((timestamps, values, payload))
    return [
        _combined(series_id, parts) for series_id, parts in merged.items() if sum(p[0].size for p in parts)
    ]


def _parts(entries: list[IncomingSeries], blocks: list[IncomingBlock]) -> Iterator[tuple]:
    """(field, series, timestamps, values, original payload) of every entry, plain points first."""
    for index, entry in enumerate(entries):
        field = f"series[{index}]"
        series_id = _series_id(field, entry.series_id)
        timestamps = np.asarray(entry.timestamps_ns, dtype=np.int64)
        values = np.asarray(entry.values, dtype=np.float64)
        if timestamps.shape != values.shape:
            raise MalformedBatch.of(field, f"{timestamps.size} timestamps but {values.size} values")
        yield field, series_id, timestamps, values, None
    for index, block in enumerate(blocks):
        field = f"blocks[{index}]"
        series_id = _series_id(field, block.series_id)
        try:
            if tscodec.stats(block.payload).count > MAX_POINTS:  # refuse before decoding anything large
                raise MalformedBatch.of(f"{field}.payload", f"at most {MAX_POINTS} points per batch")
            timestamps, values = tscodec.decode(block.payload)
            tscodec.check_stats(block.payload, timestamps, values)  # stored beside it, answers queries
        except tscodec.CodecError as exc:
            raise MalformedBatch.of(f"{field}.payload", f"not a valid tscodec block: {exc}") from None
        yield field, series_id, timestamps, values, bytes(block.payload)


def _series_id(field: str, raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise MalformedBatch.of(f"{field}.series_id", f"{raw[:40]!r} is not a UUID") from None


def _check_window(field: str, timestamps: np.ndarray, latest: int) -> None:
    if timestamps.size == 0:
        return
    bad = np.flatnonzero((timestamps < 0) | (timestamps > latest))
    if bad.size:
        first = int(bad[0])
        raise MalformedBatch.of(
            f"{field}.timestamps_ns[{first}]",
            f"{int(timestamps[first])} is outside the accepted window (1970-01-01 to one day ahead)",
        )


def _combined(series_id: uuid.UUID, parts: list[Part]) -> SeriesColumns:
    """One sorted column pair per series; a lone block already in time order is kept as it came."""
    if len(parts) == 1 and parts[0][2] is not None and bool(np.all(parts[0][0][1:] >= parts[0][0][:-1])):
        return SeriesColumns(series_id, parts[0][0], parts[0][1], parts[0][2])
    timestamps = np.concatenate([p[0] for p in parts])
    values = np.concatenate([p[1] for p in parts])
    order = np.argsort(timestamps, kind="stable")
    return SeriesColumns(series_id, timestamps[order], values[order])


def without_known(series: SeriesColumns, known: np.ndarray) -> tuple[SeriesColumns, int]:
    """The points whose timestamp the series has neither stored (``known``) nor earlier in this batch.

    The rule is first write wins: a (series, timestamp) keeps the value stored first; a later point
    with the same timestamp is dropped and counted, whatever its value.
    """
    timestamps = series.timestamps
    fresh = np.ones(timestamps.size, dtype=bool)
    fresh[1:] = timestamps[1:] != timestamps[:-1]  # sorted stably: the first of equal timestamps stays
    if known.size:
        fresh &= ~np.isin(timestamps, known)
    dropped = int(timestamps.size - np.count_nonzero(fresh))
    if dropped == 0:
        return series, 0
    return SeriesColumns(series.series_id, timestamps[fresh], series.values[fresh]), dropped
