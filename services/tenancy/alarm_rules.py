"""Alarm rules and notification endpoints: what a tenant watches and where its alarms are sent.

Owners and admins change them; every change is audited in the same transaction. A rule names one of the
tenant's series (or, for `no_data`, one of its devices): another tenant's series is NOT_FOUND, exactly as
one that never existed. Industry templates add their default rules when they build a machine
(`template_rules`, called by `layout`).
"""

from __future__ import annotations

import math
import re
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from services.runtime.errors import InvalidArgument, NotFound
from services.runtime.principal import Principal, Scope
from services.runtime.transactions import Transactions
from services.runtime.validation import parse_id, require_name
from services.tenancy import audit
from services.tenancy.alarm_models import (
    CONDITIONS,
    ENDPOINT_KINDS,
    KINDS,
    MINUTE_NS,
    SECOND_NS,
    SERIES_KINDS,
    SEVERITIES,
    Endpoint,
    Rule,
    RuleSpec,
)
from services.tenancy.models import MANAGERS
from services.tenancy.storage import alarms as storage

MAX_RATE_WINDOW_NS = 86_400 * SECOND_NS
MIN_SILENCE_NS, MAX_SILENCE_NS = 10 * SECOND_NS, 7 * 86_400 * SECOND_NS
TEMPLATE_HYSTERESIS = 0.02  # template rules clear 2% of the threshold (at least 0.01) on the safe side
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def check_spec(kind: str, spec: RuleSpec) -> RuleSpec:
    """The spec, checked for its kind; fields the kind does not use are reset."""
    name = require_name("spec.name", spec.name)
    if spec.severity not in SEVERITIES:
        raise InvalidArgument.of("spec.severity", f"must be one of {', '.join(SEVERITIES)}")
    base = RuleSpec(name, spec.severity, enabled=spec.enabled)
    if kind == "threshold":
        return _threshold(spec, base)
    if kind == "rate_of_change":
        return _rate(spec, base)
    if kind == "no_data":
        if not MIN_SILENCE_NS <= spec.window_ns <= MAX_SILENCE_NS:
            raise InvalidArgument.of("spec.window_ns", "the silence must be 10 s to 7 days")
        return RuleSpec(name, spec.severity, window_ns=spec.window_ns, enabled=spec.enabled)
    return base


def _threshold(spec: RuleSpec, base: RuleSpec) -> RuleSpec:
    if spec.condition not in CONDITIONS:
        raise InvalidArgument.of("spec.condition", "must be above, below or equals")
    _finite("spec.threshold", spec.threshold)
    _hysteresis(spec.hysteresis)
    hysteresis = 0.0 if spec.condition == "equals" else spec.hysteresis
    return RuleSpec(
        base.name, base.severity, spec.condition, spec.threshold, hysteresis, enabled=base.enabled
    )


def _rate(spec: RuleSpec, base: RuleSpec) -> RuleSpec:
    if spec.condition not in ("above", "below"):
        raise InvalidArgument.of("spec.condition", "a rate rule is above or below")
    _finite("spec.threshold", spec.threshold)
    _hysteresis(spec.hysteresis)
    if spec.rate_unit_ns not in (SECOND_NS, MINUTE_NS):
        raise InvalidArgument.of("spec.rate_unit_ns", "must be 1e9 (per second) or 6e10 (per minute)")
    if not SECOND_NS <= spec.window_ns <= MAX_RATE_WINDOW_NS:
        raise InvalidArgument.of("spec.window_ns", "the window must be 1 s to 1 day")
    return RuleSpec(
        base.name,
        base.severity,
        spec.condition,
        spec.threshold,
        spec.hysteresis,
        spec.rate_unit_ns,
        spec.window_ns,
        base.enabled,
    )


def _finite(field: str, value: float) -> None:
    if not math.isfinite(value):
        raise InvalidArgument.of(field, "must be a finite number")


def _hysteresis(value: float) -> None:
    if not (math.isfinite(value) and value >= 0):
        raise InvalidArgument.of("spec.hysteresis", "must be a finite number, 0 or more")


class AlarmRules:
    def __init__(self, db: Transactions) -> None:
        self._db = db

    async def create(
        self, caller: Principal, kind: str, series_id: str, device_id: str, spec: RuleSpec
    ) -> Rule:
        tenant_id = caller.require_role(*MANAGERS)
        if kind not in KINDS:
            raise InvalidArgument.of("kind", f"must be one of {', '.join(KINDS)}")
        spec = check_spec(kind, spec)
        target = _target(kind, series_id, device_id)
        async with self._db.tenant(tenant_id) as conn:
            await _require_target(conn, *target)
            rule = await storage.insert_rule(conn, tenant_id, uuid.uuid4(), kind, target, spec)
            await audit.record(conn, caller, "alarm_rule.create", target=str(rule.id), detail={"kind": kind})
        return rule

    async def update(self, caller: Principal, rule_id: str, spec: RuleSpec) -> Rule:
        tenant_id = caller.require_role(*MANAGERS)
        rule_uuid = parse_id("rule_id", rule_id)
        async with self._db.tenant(tenant_id) as conn:
            rule = await storage.get_rule(conn, rule_uuid)
            if rule is None:
                raise NotFound("alarm rule not found", reason="ALARM_RULE_NOT_FOUND")
            updated = await storage.update_rule(conn, rule_uuid, check_spec(rule.kind, spec))
            await audit.record(conn, caller, "alarm_rule.update", target=rule_id)
        return updated

    async def delete(self, caller: Principal, rule_id: str) -> None:
        await self._delete(caller, "rule", rule_id, storage.delete_rule)

    async def _delete(self, caller: Principal, what: str, object_id: str, remove) -> None:
        """Delete the tenant's alarm rule or endpoint, audited; NOT_FOUND if the tenant has none such."""
        tenant_id = caller.require_role(*MANAGERS)
        parsed = parse_id(f"{what}_id", object_id)
        async with self._db.tenant(tenant_id) as conn:
            if not await remove(conn, parsed):
                raise NotFound(f"alarm {what} not found", reason=f"ALARM_{what.upper()}_NOT_FOUND")
            await audit.record(conn, caller, f"alarm_{what}.delete", target=object_id)

    async def list(self, caller: Principal) -> list[Rule]:
        """Readers of the tenant, and the worker (a token scoped to the tenant) that evaluates them."""
        tenant_id = _reader_or_worker(caller)
        async with self._db.tenant(tenant_id) as conn:
            return await storage.list_rules(conn)

    async def create_endpoint(
        self, caller: Principal, kind: str, target: str, min_severity: str
    ) -> tuple[Endpoint, str]:
        """The endpoint and its webhook signing secret (shown once; empty for email)."""
        tenant_id = caller.require_role(*MANAGERS)
        target = _endpoint_target(kind, target.strip())
        if min_severity not in SEVERITIES:
            raise InvalidArgument.of("min_severity", f"must be one of {', '.join(SEVERITIES)}")
        secret = f"whsec_{secrets.token_urlsafe(32)}" if kind == "webhook" else ""
        endpoint = Endpoint(uuid.uuid4(), kind, target, secret, min_severity, datetime.now(UTC))
        async with self._db.tenant(tenant_id) as conn:
            await storage.insert_endpoint(conn, tenant_id, endpoint)
            await audit.record(
                conn, caller, "alarm_endpoint.create", target=str(endpoint.id), detail={"kind": kind}
            )
        return endpoint, secret

    async def delete_endpoint(self, caller: Principal, endpoint_id: str) -> None:
        await self._delete(caller, "endpoint", endpoint_id, storage.delete_endpoint)

    async def endpoints(self, caller: Principal) -> list[Endpoint]:
        tenant_id = caller.require_role(*MANAGERS)
        async with self._db.tenant(tenant_id) as conn:
            return await storage.list_endpoints(conn)


def _reader_or_worker(caller: Principal) -> uuid.UUID:
    if caller.kind.value == "service":
        caller.require_service("worker", "analytics")
        return caller.require_tenant()
    return caller.require_scope(Scope.READ)


def _target(kind: str, series_id: str, device_id: str) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    if kind in SERIES_KINDS:
        return parse_id("series_id", series_id), None
    return None, parse_id("device_id", device_id)


async def _require_target(conn: Any, series_id: uuid.UUID | None, device_id: uuid.UUID | None) -> None:
    """Another tenant's series or device is invisible here (row-level security): NOT_FOUND."""
    if series_id is not None and not await storage.series_exists(conn, series_id):
        raise NotFound("series not found", reason="SERIES_NOT_FOUND")
    if device_id is not None and not await storage.device_exists(conn, device_id):
        raise NotFound("device not found", reason="DEVICE_NOT_FOUND")


def _endpoint_target(kind: str, target: str) -> str:
    if kind == "webhook":
        if not re.fullmatch(r"https?://[^\s]{3,2000}", target):
            raise InvalidArgument.of("target", "a webhook is an http:// or https:// URL")
        return target
    if kind == "email":
        if not _EMAIL.fullmatch(target) or len(target) > 320:
            raise InvalidArgument.of("target", "must be an email address")
        return target
    raise InvalidArgument.of("kind", f"must be one of {', '.join(ENDPOINT_KINDS)}")


def template_spec(default: dict) -> RuleSpec:
    """A template's alarm default as a threshold rule's settings."""
    threshold = float(default["threshold"])
    condition = default["condition"]
    hysteresis = 0.0 if condition == "equals" else max(abs(threshold) * TEMPLATE_HYSTERESIS, 0.01)
    name = f"{default['series']} {condition} {default['threshold']}"
    return RuleSpec(name, default["severity"], condition, threshold, hysteresis)


async def template_rules(
    conn: Any, tenant_id: uuid.UUID, series_id: uuid.UUID, defaults: list[dict], template: str
) -> None:
    """The template's default rules of a series just made; ids derive from the series, so adding twice
    adds once."""
    for i, default in enumerate(defaults):
        rule_id = uuid.uuid5(series_id, f"alarm/{i}")
        spec = template_spec(default)
        await storage.insert_rule(conn, tenant_id, rule_id, "threshold", (series_id, None), spec, template)
