"""The records of alarms (docs/ANALYTICS.md, "Alarms"): rules, endpoints, alarms and their history."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

KINDS = ("threshold", "rate_of_change", "no_data", "spc_violation", "anomaly")
SERIES_KINDS = ("threshold", "rate_of_change", "spc_violation", "anomaly")
EVENT_KINDS = ("spc_violation", "anomaly")  # raised by other engines through ReportAlarmCondition
SEVERITIES = ("info", "warning", "critical")
CONDITIONS = ("above", "below", "equals")
STATES = ("raised", "acknowledged", "cleared")
ENDPOINT_KINDS = ("webhook", "email")
SECOND_NS = 1_000_000_000
MINUTE_NS = 60 * SECOND_NS


@dataclass(frozen=True)
class RuleSpec:
    name: str
    severity: str
    condition: str | None = None
    threshold: float = 0.0
    hysteresis: float = 0.0
    rate_unit_ns: int = SECOND_NS
    window_ns: int = 0
    enabled: bool = True


@dataclass(frozen=True)
class Rule:
    id: uuid.UUID
    kind: str
    series_id: uuid.UUID | None
    device_id: uuid.UUID | None
    name: str
    severity: str
    condition: str | None
    threshold: float
    hysteresis: float
    rate_unit_ns: int
    window_ns: int
    enabled: bool
    flapping: bool
    template: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Endpoint:
    id: uuid.UUID
    kind: str
    target: str
    secret: str
    min_severity: str
    created_at: datetime


@dataclass(frozen=True)
class Alarm:
    id: uuid.UUID
    rule_id: uuid.UUID
    rule_name: str
    kind: str
    severity: str
    state: str
    series_id: uuid.UUID | None
    device_id: uuid.UUID | None
    raised_ns: int
    value: float
    detail: str
    acknowledged_ns: int | None
    acknowledged_by: str | None
    cleared_ns: int | None
    cleared_by: str | None
    held: bool


@dataclass(frozen=True)
class Event:
    at_ns: int
    action: str
    actor: str
    comment: str
    value: float


@dataclass(frozen=True)
class Delivery:
    id: uuid.UUID
    endpoint_id: uuid.UUID
    kind: str
    target: str
    secret: str


@dataclass(frozen=True)
class Transition:
    alarm: Alarm
    event: str  # raised or cleared
    deliveries: list[Delivery]


def severity_at_least(severity: str, minimum: str) -> bool:
    return SEVERITIES.index(severity) >= SEVERITIES.index(minimum)
