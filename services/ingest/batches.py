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
from typing import NamedTuple

import numpy as np

import tscodec
from services.ingest.errors import MalformedBatch
from services.runtime.validation import FUTURE_TOLERANCE_NS

MAX_POINTS = 1_000_000
MAX_SERIES = 10_000


@dataclass(frozen=True)
class SeriesColumns:
    series_id: uuid.UUID
    timestamps: np.ndarray  # int64 ns, sorted
    values: np.ndarray  # float64
    payload: bytes | None = None  # the device's own block, when it can be stored as it is


@dataclass(frozen=True)
class IncomingSeries:
    """One series entry as it arrived, before validation (mirrors the protobuf message; the handler hands
    the timestamps over as an int64 array, which validation then reads without a copy)."""

    series_id: str
    timestamps_ns: np.ndarray | Iterable[int]
    values: Iterable[float]


@dataclass(frozen=True)
class IncomingBlock:
    """One compressed block as it arrived (mirrors the protobuf message)."""

    series_id: str
    payload: bytes


class Part(NamedTuple):
    """One entry or block as read: where it came from (the field a fault names) and its columns."""

    field: str
    series_id: uuid.UUID
    timestamps: np.ndarray
    values: np.ndarray
    payload: bytes | None  # a block's own encoding


def validate(
    entries: list[IncomingSeries], blocks: list[IncomingBlock] = (), now_ns: int | None = None
) -> list[SeriesColumns]:
    """The batch as sorted columns per series, or MalformedBatch naming the first broken rule in batch order.

    The checks run over the whole batch at once (one array operation, not a few per series): a plant's
    batch holds a thousand series of a few dozen points, where per-series NumPy calls cost more than the
    points. Parts are still read in order and the first fault in that order is the one named."""
    if len(entries) + len(blocks) > MAX_SERIES:
        raise MalformedBatch.of("series", f"at most {MAX_SERIES} series and blocks per batch")
    latest = (now_ns or time.time_ns()) + FUTURE_TOLERANCE_NS
    parts: list[Part] = []
    total = 0
    try:
        for part in _parts(entries, blocks):
            total += part.timestamps.size
            if total > MAX_POINTS:
                break
            parts.append(part)
    except MalformedBatch:
        _check_windows(parts, latest)  # a fault in an earlier part comes first
        raise
    _check_windows(parts, latest)
    if total > MAX_POINTS:
        raise MalformedBatch.of("series", f"at most {MAX_POINTS} points per batch")
    in_order = _in_order(parts)
    merged: dict[uuid.UUID, list[int]] = {}  # series → its parts, by index
    for index, part in enumerate(parts):
        merged.setdefault(part.series_id, []).append(index)
    return [
        _combined(series_id, [parts[i] for i in indexes], len(indexes) == 1 and in_order[indexes[0]])
        for series_id, indexes in merged.items()
        if any(parts[i].timestamps.size for i in indexes)
    ]


def _parts(entries: list[IncomingSeries], blocks: list[IncomingBlock]) -> Iterator[Part]:
    """Every entry, plain points first, then every block (decoded)."""
    for index, entry in enumerate(entries):
        field = f"series[{index}]"
        series_id = _series_id(field, entry.series_id)
        timestamps = np.asarray(entry.timestamps_ns, dtype=np.int64)
        values = np.asarray(entry.values, dtype=np.float64)
        if timestamps.shape != values.shape:
            raise MalformedBatch.of(field, f"{timestamps.size} timestamps but {values.size} values")
        yield Part(field, series_id, timestamps, values, None)
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
        yield Part(field, series_id, timestamps, values, bytes(block.payload))


def _series_id(field: str, raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise MalformedBatch.of(f"{field}.series_id", f"{raw[:40]!r} is not a UUID") from None


def _check_windows(parts: list[Part], latest: int) -> None:
    """Every timestamp of ``parts`` lies in the accepted window; else the first one outside it is named."""
    if not parts:
        return
    timestamps = np.concatenate([p.timestamps for p in parts])
    bad = np.flatnonzero((timestamps < 0) | (timestamps > latest))
    if not bad.size:
        return
    first = int(bad[0])
    ends = np.cumsum([p.timestamps.size for p in parts])
    index = int(np.searchsorted(ends, first, side="right"))
    offset = first - (int(ends[index - 1]) if index else 0)
    raise MalformedBatch.of(
        f"{parts[index].field}.timestamps_ns[{offset}]",
        f"{int(timestamps[first])} is outside the accepted window (1970-01-01 to one day ahead)",
    )


def _in_order(parts: list[Part]) -> list[bool]:
    """For each part, whether its timestamps never decrease (one pass over the whole batch)."""
    if not parts:
        return []
    timestamps = np.concatenate([p.timestamps for p in parts])
    sizes = [p.timestamps.size for p in parts]
    ends = np.cumsum(sizes)
    starts = ends - sizes
    # falls[i + 1]: how many of the first i neighbour pairs (j, j + 1) descend; a part [a, b) is in order
    # when none of its own pairs a..b-2 does (an empty part reads past the end: one spare slot)
    falls = np.zeros(timestamps.size + 2, dtype=np.int64)
    np.cumsum(timestamps[1:] < timestamps[:-1], out=falls[2 : timestamps.size + 1])
    return (falls[np.maximum(ends, starts + 1)] == falls[starts + 1]).tolist()


def _combined(series_id: uuid.UUID, parts: list[Part], lone_in_order: bool) -> SeriesColumns:
    """One sorted column pair per series; a lone part in time order is kept as it came (a block with its
    encoding)."""
    if lone_in_order:
        return SeriesColumns(series_id, parts[0].timestamps, parts[0].values, parts[0].payload)
    timestamps = np.concatenate([p.timestamps for p in parts])
    values = np.concatenate([p.values for p in parts])
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


def repeated_series(series: list[SeriesColumns]) -> set[int]:
    """The indexes of the series (each sorted) holding some timestamp more than once, found in one pass."""
    if not series:
        return set()
    timestamps = np.concatenate([s.timestamps for s in series])
    ends = np.cumsum([s.timestamps.size for s in series])
    starts = ends - [s.timestamps.size for s in series]
    # a repeat is an equal neighbour pair (j, j + 1) where j + 1 is not the first point of its series
    second = np.flatnonzero(timestamps[1:] == timestamps[:-1]) + 1
    owners = np.searchsorted(ends, second, side="right")
    return set(owners[second != starts[owners]].tolist())
