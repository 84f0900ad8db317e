"""What the programme operator's tools deal in: flag rules, a tenant's month of utilisation, its flags,
and the reports people file with the programme (docs/PROGRAMME.md)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

# The figures a rule may test; each is a number the utilisation report shows.
METRICS = ("data_day_share", "reporting_device_share", "logins", "points", "api_calls")
# Features counted from what tenancy records: audit actions in the month, and the gateway's API calls.
FEATURE_ACTIONS = {
    "alarm_rules": ("alarm_rule.create", "alarm_rule.update"),
    "exports": ("export.request",),
    "sharing_grants": ("share.grant",),
    "tickets": ("ticket.open",),
}
FEATURES = ("api_calls", *FEATURE_ACTIONS)

CATEGORIES = ("misuse", "supplier")
REPORT_STATUSES = ("received", "investigating", "closed")
REPORT_MOVES = {"received": ("investigating", "closed"), "investigating": ("closed",), "closed": ()}


MAX_LEVEL = 5  # smart-factory levels run 0 (not even level 1) to 5


@dataclass(frozen=True)
class SupplierLevels:
    """One supplier's live tenants by latest level; ``supplier_id`` None for the operator's direct tenants."""

    supplier_id: uuid.UUID | None
    at_level: tuple[int, ...]  # MAX_LEVEL + 1 counts, indexed by level
    unassessed: int


@dataclass(frozen=True)
class Rule:
    """Flag a tenant's month when ``metric`` is below ``below`` (tenants/utilisation_rules.yaml)."""

    code: str
    description: str
    metric: str
    below: float
    subsidised_only: bool = False
    min_registered_devices: int = 0


@dataclass(frozen=True)
class Review:
    note: str
    reviewed_by: str
    reviewed_at: datetime


@dataclass(frozen=True)
class Flag:
    rule: Rule
    value: float
    evidence: str
    review: Review | None = None


@dataclass(frozen=True)
class Period:
    """A report month: its first day, the last day counted (today, for the current month), its key."""

    first: date
    last: date
    month: str

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


@dataclass(frozen=True)
class ReportedTenant:
    """A tenant as the operator sees it: who it is and how it is subscribed."""

    id: uuid.UUID
    name: str
    supplier_id: uuid.UUID | None
    plan: str
    state: str
    subsidised: bool
    cell: str


@dataclass(frozen=True)
class Utilisation:
    tenant: ReportedTenant
    period: Period
    days_with_data: int
    registered_devices: int
    reporting_devices: int
    points: int
    bytes: int
    logins: int
    login_users: int
    features: dict[str, int]
    levels: tuple[tuple[date, int], ...]
    flags: tuple[Flag, ...] = ()
    telemetry_unavailable: bool = False  # the tenant's cell did not answer: its telemetry figures are unknown

    def metric(self, name: str) -> float:
        """The value of one of METRICS; a share of nothing (no days, no devices) is 0."""
        shares = {
            "data_day_share": (self.days_with_data, self.period.days),
            "reporting_device_share": (self.reporting_devices, self.registered_devices),
        }
        if name in shares:
            part, whole = shares[name]
            return part / whole if whole else 0.0
        return float(
            {"logins": self.logins, "points": self.points, "api_calls": self.features["api_calls"]}[name]
        )


@dataclass(frozen=True)
class ReportEvent:
    at: datetime
    actor: str
    from_status: str
    to_status: str
    note: str


@dataclass(frozen=True)
class Report:
    id: uuid.UUID
    reporter: str
    reporter_organisation: str
    category: str
    supplier_id: uuid.UUID | None
    supplier_name: str
    subject: str
    body: str
    status: str
    outcome: str
    created_at: datetime
    updated_at: datetime
    history: tuple[ReportEvent, ...] = field(default=())
