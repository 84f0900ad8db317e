"""Validating a batch and turning it into one sorted column pair per series.

Rules (each broken rule rejects the whole batch, naming the field):
- every series id is a UUID; a series may appear more than once (its points are merged);
- timestamps and values have the same length;
- every timestamp lies in the accepted window: from 1970-01-01 to one day ahead of now;
- a batch holds at most MAX_POINTS points and MAX_SERIES series.
Points are sorted by time (stably, so equal timestamps keep their order).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from services.ingest.errors import MalformedBatch

MAX_POINTS = 1_000_000
MAX_SERIES = 10_000
FUTURE_TOLERANCE_NS = 86_400 * 10**9


@dataclass(frozen=True)
class SeriesColumns:
    series_id: uuid.UUID
    timestamps: np.ndarray  # int64 ns, sorted
    values: np.ndarray  # float64


@dataclass(frozen=True)
class IncomingSeries:
    """One series entry as it arrived, before validation (mirrors the protobuf message)."""

    series_id: str
    timestamps_ns: Iterable[int]
    values: Iterable[float]


def validate(entries: list[IncomingSeries], now_ns: int | None = None) -> list[SeriesColumns]:
    if len(entries) > MAX_SERIES:
        raise MalformedBatch.of("series", f"at most {MAX_SERIES} series per batch")
    latest = (now_ns or time.time_ns()) + FUTURE_TOLERANCE_NS
    merged: dict[uuid.UUID, list[tuple[np.ndarray, np.ndarray]]] = {}
    total = 0
    for index, entry in enumerate(entries):
        field = f"series[{index}]"
        series_id = _series_id(field, entry.series_id)
        timestamps = np.asarray(entry.timestamps_ns, dtype=np.int64)
        values = np.asarray(entry.values, dtype=np.float64)
        if timestamps.shape != values.shape:
            raise MalformedBatch.of(field, f"{timestamps.size} timestamps but {values.size} values")
        total += timestamps.size
        if total > MAX_POINTS:
            raise MalformedBatch.of("series", f"at most {MAX_POINTS} points per batch")
        _check_window(field, timestamps, latest)
        merged.setdefault(series_id, []).append((timestamps, values))
    return [_sorted(series_id, parts) for series_id, parts in merged.items() if sum(p[0].size for p in parts)]


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


def _sorted(series_id: uuid.UUID, parts: list[tuple[np.ndarray, np.ndarray]]) -> SeriesColumns:
    timestamps = np.concatenate([p[0] for p in parts])
    values = np.concatenate([p[1] for p in parts])
    order = np.argsort(timestamps, kind="stable")
    return SeriesColumns(series_id, timestamps[order], values[order])
