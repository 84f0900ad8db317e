"""The records of the supplier directory and of after-service tickets, as the services, storage and
handlers exchange them (docs/SUPPORT.md)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class KeyStaff:
    role: str
    count: int


@dataclass(frozen=True)
class ClientReference:
    client: str
    project: str
    year: int = 0


@dataclass(frozen=True)
class Profile:
    """What a supplier's admin writes; tags are trimmed and lower-cased."""

    summary: str = ""
    specialties: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    certifications: tuple[str, ...] = ()
    key_staff: tuple[KeyStaff, ...] = ()
    references: tuple[ClientReference, ...] = ()
    updated_at: datetime | None = None


@dataclass(frozen=True)
class TrackRecord:
    """Computed from the platform's records; nothing a supplier sends ever becomes one."""

    active_tenants: int = 0
    assessed_tenants: int = 0
    average_level_gain: float = 0.0
    answered_tickets: int = 0
    median_first_response_s: float = 0.0


@dataclass(frozen=True)
class Listing:
    id: uuid.UUID
    name: str
    description: str
    website: str
    contact_email: str
    profile: Profile
    track_record: TrackRecord = field(default_factory=TrackRecord)


@dataclass(frozen=True)
class SearchFilter:
    specialty: str = ""
    industry: str = ""
    region: str = ""
    text: str = ""


# After-service tickets: the flow, and which side may make each move.
STATUSES = ("open", "in_progress", "waiting_on_customer", "resolved", "closed")
CUSTOMER, SUPPLIER = "customer", "supplier"
MOVES: dict[str, dict[str, frozenset[str]]] = {
    "open": {
        "in_progress": frozenset({SUPPLIER}),
        "waiting_on_customer": frozenset({SUPPLIER}),
        "resolved": frozenset({SUPPLIER}),
        "closed": frozenset({CUSTOMER}),  # withdrawn before the supplier took it up
    },
    "in_progress": {"waiting_on_customer": frozenset({SUPPLIER}), "resolved": frozenset({SUPPLIER})},
    "waiting_on_customer": {
        "in_progress": frozenset({CUSTOMER, SUPPLIER}),
        "resolved": frozenset({SUPPLIER}),
    },
    "resolved": {"closed": frozenset({CUSTOMER, SUPPLIER}), "in_progress": frozenset({CUSTOMER})},  # reopened
    "closed": {},
}


@dataclass(frozen=True)
class DeviceDiagnosis:
    device_id: str
    name: str
    revoked: bool
    last_batch_ns: int = 0
    last_point_ns: int = 0
    stored_batches: int = 0
    refused_batches: int = 0
    points: int = 0
    conflicts: int = 0
    last_refusal_reason: str = ""


@dataclass(frozen=True)
class AlarmDiagnosis:
    alarm_id: str
    rule_name: str
    kind: str
    severity: str
    state: str
    raised_ns: int


@dataclass(frozen=True)
class Snapshot:
    """The tenant's state when a ticket was opened; stored with the ticket and never changed."""

    taken_ns: int
    devices: tuple[DeviceDiagnosis, ...]
    recent_alarms: tuple[AlarmDiagnosis, ...]
    telemetry_unavailable: str = ""

    @property
    def ingest_error_rate(self) -> float:
        refused = sum(d.refused_batches for d in self.devices)
        return _share(refused, refused + sum(d.stored_batches for d in self.devices))

    @property
    def conflict_rate(self) -> float:
        conflicts = sum(d.conflicts for d in self.devices)
        return _share(conflicts, conflicts + sum(d.points for d in self.devices))

    @classmethod
    def from_json(cls, data: dict) -> Snapshot:
        return cls(
            data["taken_ns"],
            tuple(DeviceDiagnosis(**d) for d in data["devices"]),
            tuple(AlarmDiagnosis(**a) for a in data["recent_alarms"]),
            data.get("telemetry_unavailable", ""),
        )


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


@dataclass(frozen=True)
class Ticket:
    id: uuid.UUID
    tenant_id: uuid.UUID
    supplier_id: uuid.UUID
    subject: str
    body: str
    status: str
    opened_by: str
    created_at: datetime
    response_due_at: datetime | None
    resolution_due_at: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None

    def response_breached(self, now: datetime) -> bool:
        return _late(self.response_due_at, self.first_response_at, now)

    def resolution_breached(self, now: datetime) -> bool:
        return _late(self.resolution_due_at, self.resolved_at or self.closed_at, now)


def _late(due: datetime | None, done: datetime | None, now: datetime) -> bool:
    return due is not None and (done or now) > due


@dataclass(frozen=True)
class TicketEvent:
    at: datetime
    actor: str
    side: str
    kind: str
    body: str
    from_status: str | None
    to_status: str | None


@dataclass(frozen=True)
class Transfer:
    """A tenant's request to move to a supplier (from the directory, or a plain transfer)."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    tenant_name: str
    from_supplier: uuid.UUID | None
    to_supplier: uuid.UUID
    to_supplier_name: str
    message: str
    requested_at: datetime
    accepted_at: datetime | None
    declined_at: datetime | None
    decision_note: str

    @property
    def state(self) -> str:
        return "accepted" if self.accepted_at else "declined" if self.declined_at else "requested"
