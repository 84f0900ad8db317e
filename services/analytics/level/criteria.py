"""The smart-factory level criteria, as a table, and the rule that turns facts into a level.

Pure: the facts are gathered elsewhere (``service.py``); here they are judged. A level is reached when
all of its criteria and all of every lower level's hold. docs/ANALYTICS.md, "Smart-factory level",
documents this table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

TOP_LEVEL = 5
REPORTING_WINDOW_H = 24
API_WINDOW_DAYS = 7
SPC_WINDOW_DAYS = 30


@dataclass(frozen=True)
class Facts:
    """What the tenant does on the platform, counted at one moment."""

    machines: int  # machines in the asset tree
    reporting: int  # machines with a series whose newest point is at most 24 h old
    api_calls: int  # GraphQL calls (web app and API keys) in the last 7 days, as the gateway meters them
    site_calendars: int  # sites with a shift calendar
    oee_machines: int  # machines with OEE settings
    alarm_rules: int  # enabled alarm rules
    all_alarm_rules: int
    spc_events: int  # SPC violation events recorded in the last 30 days
    anomaly_models: int  # machines with an anomaly model, scored by the worker


@dataclass(frozen=True)
class Finding:
    level: int
    name: str
    met: bool
    evidence: str


@dataclass(frozen=True)
class Assessment:
    level: int  # 0: not even level 1
    findings: tuple[Finding, ...]
    next_steps: tuple[str, ...]


@dataclass(frozen=True)
class Criterion:
    level: int
    name: str
    judge: Callable[[Facts], tuple[bool, str]]  # (met, evidence)
    next_step: Callable[[Facts], str]  # what to do while it is not met


def _share(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "0%"


def _registered(f: Facts) -> tuple[bool, str]:
    return f.machines >= 1, f"{f.machines} machine{'s' if f.machines != 1 else ''} in the asset tree"


def _reporting(numerator: int, denominator: int) -> Callable[[Facts], tuple[bool, str]]:
    """At least numerator/denominator of the machines (and at least one) reported in the window."""

    def judge(f: Facts) -> tuple[bool, str]:
        met = f.reporting >= 1 and f.reporting * denominator >= f.machines * numerator
        return met, (
            f"{f.reporting} of {f.machines} machines reported in the last {REPORTING_WINDOW_H} h"
            f" ({_share(f.reporting, f.machines)})"
        )

    return judge


def _api(f: Facts) -> tuple[bool, str]:
    return f.api_calls >= 1, f"{f.api_calls} dashboard and API calls in the last {API_WINDOW_DAYS} days"


def _oee(f: Facts) -> tuple[bool, str]:
    return f.site_calendars + f.oee_machines >= 1, (
        f"{f.site_calendars} site shift calendars, {f.oee_machines} machines with OEE settings"
    )


def _alarms(f: Facts) -> tuple[bool, str]:
    return f.alarm_rules >= 1, f"{f.alarm_rules} of {f.all_alarm_rules} alarm rules enabled"


def _analyses(f: Facts) -> tuple[bool, str]:
    return f.spc_events + f.anomaly_models >= 1, (
        f"{f.spc_events} SPC violation events recorded in the last {SPC_WINDOW_DAYS} days,"
        f" {f.anomaly_models} machines with an anomaly model"
    )


def _closed_loop(f: Facts) -> tuple[bool, str]:
    return False, "no closed-loop actions: the platform cannot send actions to machines yet"


CRITERIA: tuple[Criterion, ...] = (
    Criterion(1, "machines_registered", _registered, lambda f: "Register your machines in the asset tree."),
    Criterion(
        2,
        "half_of_machines_reporting",
        _reporting(1, 2),
        lambda f: (
            f"Connect more machines: at least half must report within {REPORTING_WINDOW_H} h"
            f" ({f.reporting} of {f.machines} do)."
        ),
    ),
    Criterion(
        3,
        "most_machines_reporting",
        _reporting(4, 5),
        lambda f: (
            f"Connect more machines: at least 80% must report within {REPORTING_WINDOW_H} h"
            f" ({f.reporting} of {f.machines} do)."
        ),
    ),
    Criterion(
        3,
        "dashboards_or_api_in_use",
        _api,
        lambda f: f"Use the dashboards or the GraphQL API (no calls in the last {API_WINDOW_DAYS} days).",
    ),
    Criterion(
        3,
        "oee_configured",
        _oee,
        lambda f: "Configure OEE: a shift calendar for a site or OEE settings for a machine.",
    ),
    Criterion(4, "alarm_rules_active", _alarms, lambda f: "Enable at least one alarm rule."),
    Criterion(
        4,
        "analyses_in_use",
        _analyses,
        lambda f: (
            f"Chart a quality characteristic with SPC and record its violations (none in the last"
            f" {SPC_WINDOW_DAYS} days), or fit an anomaly model to a machine."
        ),
    ),
    Criterion(
        5,
        "closed_loop_actions",
        _closed_loop,
        lambda f: (
            "Level 5 (autonomous, closed-loop actions) cannot be reached on sfcloud yet: the"
            " platform does not act on machines."
        ),
    ),
)


def assess(facts: Facts) -> Assessment:
    findings = tuple(Finding(c.level, c.name, *c.judge(facts)) for c in CRITERIA)
    level = 0
    for candidate in range(1, TOP_LEVEL + 1):
        if not all(x.met for x in findings if x.level == candidate):
            break
        level = candidate
    steps = tuple(
        c.next_step(facts)
        for c, x in zip(CRITERIA, findings, strict=True)
        if x.level == level + 1 and not x.met
    )
    return Assessment(level, findings, steps)
