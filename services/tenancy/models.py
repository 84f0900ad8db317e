"""The control plane's records, as the service and its storage exchange them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from services.runtime.principal import Role


@dataclass(frozen=True)
class SignInLimits:
    """How many passwords may be checked against one account (RELIABILITY A2): ``failures`` wrong ones in a
    row lock it for ``lock_s``, and, locked or not, no more than ``ceiling`` are checked in any ``window_s``
    (a rolling hour), so renewing the lock as it ends gains an attacker nothing past the ceiling."""

    failures: int = 10
    lock_s: int = 900
    ceiling: int = 100
    window_s: int = 3600


@dataclass(frozen=True)
class Plan:
    code: str
    name: str
    quotas: dict[str, int]
    features: dict[str, bool]
    price_krw_month: int = 0


@dataclass(frozen=True)
class Tenant:
    id: uuid.UUID
    name: str
    slug: str
    plan_code: str
    supplier_id: uuid.UUID | None = None
    state: str = "active"
    template: str | None = None
    cell: str = "default"


@dataclass(frozen=True)
class Supplier:
    id: uuid.UUID
    slug: str
    name: str
    description: str = ""
    website: str = ""
    contact_email: str = ""


@dataclass(frozen=True)
class ApiKey:
    id: uuid.UUID
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class AuditEvent:
    id: int
    tenant_id: uuid.UUID | None
    at: datetime
    actor_kind: str
    actor_id: str
    action: str
    target: str
    outcome: str
    source: str
    detail: dict


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    email: str
    display_name: str
    platform_operator: bool


@dataclass(frozen=True)
class Membership:
    tenant: Tenant
    role: Role


@dataclass(frozen=True)
class Joined:
    """Where an invitation leads: into a tenant, or onto a supplier's staff (exactly one is set)."""

    tenant_id: uuid.UUID | None = None
    supplier_id: uuid.UUID | None = None

    def settings(self) -> dict[str, str]:
        """The transaction settings under which row-level security shows its rows."""
        if self.supplier_id is not None:
            return {"app.supplier_id": str(self.supplier_id)}
        return {"app.tenant_id": str(self.tenant_id)}


@dataclass(frozen=True)
class Asset:
    id: uuid.UUID
    parent_id: uuid.UUID | None
    kind: str
    name: str
    machine_type: str | None = None  # machines: the template machine type
    ideal_cycle_s: float | None = None  # machines: seconds per part at full speed (OEE performance)


@dataclass(frozen=True)
class Series:
    id: uuid.UUID
    machine_id: uuid.UUID
    name: str
    unit: str
    kind: str
    decimals: int
    alarm_defaults: list = field(default_factory=list)  # from the template: {condition, threshold, severity}


@dataclass(frozen=True)
class Device:
    id: uuid.UUID
    name: str


@dataclass(frozen=True)
class DeviceIdentity:
    tenant_id: uuid.UUID
    device_id: uuid.UUID
    state: str
    cell: str
    points_per_second: int = 0


@dataclass(frozen=True)
class SupplierMembership:
    supplier: Supplier
    role: str


ASSET_KINDS = ("site", "area", "line", "machine")
SERIES_KINDS = ("gauge", "counter", "state")
# Which kind of node may sit under which (ISA-95: site → area → line → machine).
PARENT_KINDS = {"site": (None,), "area": ("site",), "line": ("site", "area"), "machine": ("line",)}

# Subscription states and what each allows (DESIGN.md, issue 4): suspended tenants read but do not
# ingest; cancelled tenants may export for a grace period, then are purged.
STATES = ("trial", "active", "past_due", "suspended", "cancelled")
TRANSITIONS = {
    "trial": ("active", "suspended", "cancelled"),
    "active": ("past_due", "suspended", "cancelled"),
    "past_due": ("active", "suspended", "cancelled"),
    "suspended": ("active", "cancelled"),
    "cancelled": (),
}
INGEST_STATES = ("trial", "active", "past_due")
CANCEL_GRACE_DAYS = 30
TRIAL_DAYS = 30
MANAGERS = (Role.OWNER, Role.ADMIN)  # who may change a tenant's users, devices, keys and assets
