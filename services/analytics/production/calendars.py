"""Shift calendars: a site's shifts, repeated every day in its IANA time zone, as periods in nanoseconds.

A shift starts at a local wall-clock minute of its production date and lasts a number of wall-clock
minutes, so it may run past midnight (a night shift 22:00 + 8 h ends at 06:00 the next day and belongs
to the date it started). Its instants come from ``zoneinfo``: across a daylight-saving change the
elapsed time differs from the wall-clock length (Europe/Berlin's 22:00-06:00 shift lasts 7 hours on the
last Sunday of March and 9 on the last Sunday of October). A wall time that does not exist (inside the
spring gap) is read with the offset before the change (``fold=0``), i.e. as that long after the jump; a
repeated wall time (the autumn hour) means its first occurrence. A production day is the shifts that
start on its local date; a site without a calendar has one 24-hour shift from local midnight, so its day
is the calendar day (23 or 25 hours across a change).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from services.runtime.errors import InvalidArgument

MINUTES_A_DAY = 1440
MAX_SHIFTS = 24
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Shift:
    name: str
    start_minute: int
    duration_minutes: int


@dataclass(frozen=True)
class Calendar:
    time_zone: str
    shifts: tuple[Shift, ...]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


DEFAULT = Calendar("UTC", (Shift("day", 0, MINUTES_A_DAY),))


@dataclass(frozen=True)
class Period:
    """One shift on one production date (``label`` is the shift's name)."""

    start_ns: int
    end_ns: int
    label: str
    date: dt.date


def check_shifts(shifts: list[Shift]) -> tuple[Shift, ...]:
    """The shifts in order of their start; refused when empty, malformed or overlapping."""
    if not 1 <= len(shifts) <= MAX_SHIFTS:
        raise InvalidArgument.of("calendar.shifts", f"must hold 1 to {MAX_SHIFTS} shifts")
    names = [s.name.strip() for s in shifts]
    if any(not n or len(n) > 40 for n in names) or len(set(names)) < len(names):
        raise InvalidArgument.of("calendar.shifts", "each shift needs a distinct name of 1 to 40 characters")
    for s in shifts:
        if not 0 <= s.start_minute < MINUTES_A_DAY:
            raise InvalidArgument.of("calendar.shifts", f"shift {s.name!r}: start_minute must be 0..1439")
        if not 1 <= s.duration_minutes <= MINUTES_A_DAY:
            raise InvalidArgument.of("calendar.shifts", f"shift {s.name!r}: duration_minutes must be 1..1440")
    ordered = sorted(shifts, key=lambda s: s.start_minute)
    for this, following in zip(ordered, [*ordered[1:], ordered[0]], strict=True):
        next_start = following.start_minute + (MINUTES_A_DAY if following is ordered[0] else 0)
        if this.start_minute + this.duration_minutes > next_start:
            raise InvalidArgument.of(
                "calendar.shifts",
                f"shift {this.name!r} overlaps shift {following.name!r}",
                reason="SHIFTS_OVERLAP",
            )
    return tuple(
        Shift(n.strip(), s.start_minute, s.duration_minutes) for n, s in zip(names, shifts, strict=True)
    )


def instant_ns(local: dt.datetime, zone: ZoneInfo) -> int:
    """A naive local wall-clock time in ``zone`` as nanoseconds since the epoch (fold=0: see above)."""
    return (local.replace(tzinfo=zone) - EPOCH) // dt.timedelta(microseconds=1) * 1000


def shift_period(calendar: Calendar, shift: Shift, date: dt.date) -> Period:
    start = dt.datetime.combine(date, dt.time()) + dt.timedelta(minutes=shift.start_minute)
    end = start + dt.timedelta(minutes=shift.duration_minutes)
    zone = calendar.zone
    return Period(instant_ns(start, zone), instant_ns(end, zone), shift.name, date)


def periods(calendar: Calendar, start_ns: int, end_ns: int, whole_days: bool) -> list[Period]:
    """The shifts overlapping ``[start_ns, end_ns)`` in time order; with ``whole_days`` every shift of a
    production date that has one overlapping."""
    zone = calendar.zone
    first = dt.datetime.fromtimestamp(start_ns / 1e9, zone).date() - dt.timedelta(days=1)
    last = dt.datetime.fromtimestamp(end_ns / 1e9, zone).date()
    found: list[Period] = []
    for offset in range((last - first).days + 1):
        date = first + dt.timedelta(days=offset)
        day = [shift_period(calendar, s, date) for s in calendar.shifts]
        overlapping = [p for p in day if p.start_ns < end_ns and p.end_ns > start_ns]
        found += day if whole_days and overlapping else overlapping
    return sorted(found, key=lambda p: p.start_ns)
