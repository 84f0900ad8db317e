"""What a plant report says, before it is laid out as a PDF or CSV: plain data, already in the site's
time zone and the report's language where words are concerned (names of machines and series are the
tenant's own)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class OeeLine:
    name: str  # a machine's name, or the words for "all machines"
    availability: float | None
    performance: float | None
    quality: float | None
    oee: float | None


@dataclass(frozen=True)
class AlarmLine:
    raised: str  # local time, "YYYY-MM-DD HH:MM"
    severity: str  # in the report's language
    rule: str
    series: str
    state: str  # in the report's language


@dataclass(frozen=True)
class AnomalyLine:
    machine: str
    start: str  # local time
    end: str  # local time, or the word for "ongoing"
    series: str  # the contributing series' names, largest share first
    peak_score: float


@dataclass(frozen=True)
class PlantReport:
    language: str
    title: str
    site: str
    time_zone: str
    first_day: date
    last_day: date  # inclusive
    generated: str  # local time
    total: OeeLine
    machines: list[OeeLine]
    trend: list[tuple[date, float | None]]  # OEE of every machine together, by production day
    alarm_counts: list[tuple[str, int]]  # (severity in words, alarms raised in the period)
    alarms: list[AlarmLine]  # the newest first, at most MAX_LINES
    anomalies: list[AnomalyLine]  # the newest first, at most MAX_LINES
    level: int | None  # the last assessment in the period; None when there was none
    next_steps: list[str]

    @property
    def period(self) -> str:
        if self.first_day == self.last_day:
            return self.first_day.isoformat()
        return f"{self.first_day.isoformat()} to {self.last_day.isoformat()}"


MAX_LINES = 50
