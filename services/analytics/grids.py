"""Where buckets start: fixed widths since the epoch, calendar days and weeks in a time zone, pixel columns.

A ``Grid`` cuts a range ``[lo, hi)`` into buckets: ``edges`` runs from ``lo`` to ``hi`` (each bucket's
points lie in ``[edges[i], edges[i + 1])``) and ``starts`` is where each bucket nominally starts, which
for the first bucket may be before ``lo`` (a day bucket starts at midnight even when the range starts at
noon). Pure Python and numpy; the callers check sizes before building a grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
SNAP_UNITS = (
    3600 * 10**9,
    60 * 10**9,
)  # chart column edges round to the coarsest that fits (UTC hours, minutes)
SNAP_SPAN = 5  # ... when a column is at least this many of them wide


@dataclass(frozen=True)
class Grid:
    edges: np.ndarray  # int64, len n + 1, edges[0] == lo, edges[-1] == hi, strictly increasing
    starts: np.ndarray  # int64, len n
    width: int = 0  # fixed grids: every inner edge is a multiple of it (0: edges are irregular)

    def index(self, timestamps: np.ndarray) -> np.ndarray:
        """The bucket of each timestamp in ``[lo, hi)``."""
        return np.searchsorted(self.edges, timestamps, side="right") - 1


def fixed_count(lo: int, hi: int, width: int) -> int:
    """How many buckets aligned to multiples of ``width`` touch ``[lo, hi)``."""
    return (hi - 1) // width - lo // width + 1


def fixed(lo: int, hi: int, width: int) -> Grid:
    first, last = lo // width, (hi - 1) // width
    starts = np.arange(first, last + 1, dtype=np.int64) * width
    edges = np.append(starts, hi)
    edges[0] = lo
    return Grid(edges, starts, width)


def columns(lo: int, hi: int, n: int) -> Grid:
    """``n`` near-equal columns (fewer when the range has fewer nanoseconds), each starting at its edge.

    Columns at least ``SNAP_SPAN`` units wide have their inner edges rounded to the nearest whole hour (or
    minute): a UTC hour's blocks then lie inside one column (and minute rollups can answer), so a year's
    chart reads statistics and decodes nothing. The shift is at most a tenth of a column, a tenth of a
    pixel, and every point still lies in exactly one column."""
    n = min(n, hi - lo)
    edges = np.array([lo + (k * (hi - lo)) // n for k in range(n + 1)], dtype=np.int64)
    unit = next((u for u in SNAP_UNITS if hi - lo >= SNAP_SPAN * u * n), 0)
    if unit:
        edges[1:-1] = (edges[1:-1] + unit // 2) // unit * unit
    return Grid(edges, edges[:-1])


def calendar_count(lo: int, hi: int, days: int) -> int:
    """An upper bound of the day (``days=1``) or week (``days=7``) buckets touching ``[lo, hi)``."""
    return (hi - lo) // (days * 86_400 * 10**9) + 2


def calendar(lo: int, hi: int, zone: ZoneInfo, days: int) -> Grid:
    """Buckets starting at local midnight in ``zone``: every day, or (``days=7``) every Monday.

    Midnight is taken at its first occurrence; where a zone skips midnight (a DST change at 00:00), the
    day starts when the clock jumps, which zoneinfo gives for the skipped wall time with ``fold=0``.
    """
    day = _local_date(lo, zone)
    if days == 7:
        day -= timedelta(days=day.weekday())
    starts = []
    while not starts or starts[-1] < hi:
        starts.append(_midnight_ns(day, zone))
        day += timedelta(days=days)
    starts.pop()
    edges = np.array([*starts, hi], dtype=np.int64)
    edges[0] = lo
    return Grid(edges, np.array(starts, dtype=np.int64))


def _local_date(ns: int, zone: ZoneInfo) -> date:
    return (EPOCH + timedelta(microseconds=ns // 1000)).astimezone(zone).date()


def _midnight_ns(day: date, zone: ZoneInfo) -> int:
    moment = datetime(day.year, day.month, day.day, tzinfo=zone)
    return (moment - EPOCH) // _MICROSECOND * 1000
