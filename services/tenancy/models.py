"""The control plane's records, as the service and its storage exchange them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from services.runtime.principal import Role


@dataclass(frozen=True)
class Plan:
    code: str
    name: str
    quotas: dict[str, int]
    features: dict[str, bool]


@dataclass(frozen=True)
class Tenant:
    id: uuid.UUID
    name: str
    slug: str
    plan_code: str


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
class Asset:
    id: uuid.UUID
    parent_id: uuid.UUID | None
    kind: str
    name: str


@dataclass(frozen=True)
class Series:
    id: uuid.UUID
    machine_id: uuid.UUID
    name: str
    unit: str
    kind: str
    decimals: int


@dataclass(frozen=True)
class Device:
    id: uuid.UUID
    name: str


@dataclass(frozen=True)
class DeviceIdentity:
    tenant_id: uuid.UUID
    device_id: uuid.UUID


ASSET_KINDS = ("site", "area", "line", "machine")
SERIES_KINDS = ("gauge", "counter", "state")
# Which kind of node may sit under which (ISA-95: site → area → line → machine).
PARENT_KINDS = {"site": (None,), "area": ("site",), "line": ("site", "area"), "machine": ("line",)}
