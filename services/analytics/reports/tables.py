"""The sections of a plant report as titled tables of text cells, in the report's language: what the CSV
writes row by row and the PDF lays out, so the two formats always say the same."""

from __future__ import annotations

from dataclasses import dataclass

from services.analytics.reports.content import OeeLine, PlantReport
from services.analytics.reports.strings import STRINGS


@dataclass(frozen=True)
class Table:
    key: str  # a stable section name ("summary", "oee", ...)
    title: str
    header: list[str]
    rows: list[list[str]]


def percent(value: float | None, words: dict[str, str]) -> str:
    return words["no_value"] if value is None else f"{value * 100:.1f}%"


def tables(report: PlantReport) -> list[Table]:
    w = STRINGS[report.language]
    level = w["not_assessed"] if report.level is None else str(report.level)

    def oee_row(line: OeeLine) -> list[str]:
        parts = (line.availability, line.performance, line.quality, line.oee)
        return [line.name, *(percent(p, w) for p in parts)]

    return [
        Table(
            "summary",
            report.title,
            [w["site"], w["period"], w["time_zone"], w["generated"]],
            [[report.site, report.period, report.time_zone, report.generated]],
        ),
        Table(
            "oee",
            w["oee"],
            [w["machine"], w["availability"], w["performance"], w["quality"], w["oee"]],
            [oee_row(report.total), *(oee_row(m) for m in report.machines)],
        ),
        Table(
            "trend",
            w["trend"],
            [w["day"], w["oee"]],
            [[d.isoformat(), percent(v, w)] for d, v in report.trend],
        ),
        Table(
            "alarm_counts",
            w["alarms"],
            [w["severity"], w["count"]],
            [[s, str(n)] for s, n in report.alarm_counts],
        ),
        Table(
            "alarms",
            w["alarms"],
            [w["raised"], w["severity"], w["rule"], w["series"], w["state"]],
            [[a.raised, a.severity, a.rule, a.series, a.state] for a in report.alarms],
        ),
        Table(
            "anomalies",
            w["anomalies"],
            [w["machine"], w["start"], w["end"], w["series"], w["peak_score"]],
            [[a.machine, a.start, a.end, a.series, f"{a.peak_score:.3g}"] for a in report.anomalies],
        ),
        Table(
            "level",
            w["level"],
            [w["level_value"], w["next_steps"]],
            [[level, " / ".join(report.next_steps) or w["none"]]],
        ),
    ]
