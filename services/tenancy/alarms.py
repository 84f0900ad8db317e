"""The alarm lifecycle: raised → acknowledged → cleared (or cleared without acknowledgement), comments,
flapping, and the notifications each change owes (docs/ANALYTICS.md, "Alarms").

- Conditions come from the worker (threshold, rate of change, no data, evaluated as data arrives) and
  from the SPC and anomaly engines (`report` without a rule: every enabled rule of that kind on the
  series). Reporting is idempotent: a rule has at most one open alarm, a condition that holds again
  raises nothing new, one that ends with no open alarm clears nothing.
- Flapping: when a rule's condition raised or cleared more than ``flap_count`` times within
  ``flap_window_ns`` (of the points' time) the rule is flapping; its raises and clears are still
  recorded, but their notifications are held (recorded as held, never sent) until a change comes with
  at most ``flap_count`` changes in the window before it.
- People acknowledge, clear and comment (owners, admins, operators); each act is an alarm event with
  its actor, and a line of the tenant's audit log, in the same transaction as the change.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from services.runtime import keyset
from services.runtime.errors import FailedPrecondition, InvalidArgument, NotFound
from services.runtime.principal import Principal, Role, Scope
from services.runtime.transactions import Transactions
from services.runtime.validation import parse_id
from services.tenancy import audit
from services.tenancy.alarm_models import (
    EVENT_KINDS,
    KINDS,
    SEVERITIES,
    STATES,
    Alarm,
    Event,
    Rule,
    Transition,
    severity_at_least,
)
from services.tenancy.brands import MailBrand, mail_brand_of_tenant
from services.tenancy.mailer import Mailer
from services.tenancy.storage import alarms as storage

RESPONDERS = (Role.OWNER, Role.ADMIN, Role.OPERATOR)
MAX_COMMENT = 2000
MAX_LIST = 500


@dataclass(frozen=True)
class Condition:
    rule_id: str
    series_id: str
    kind: str
    time_ns: int
    active: bool
    value: float = 0.0
    detail: str = ""


@dataclass(frozen=True)
class FlapLimit:
    count: int = 5  # more raises and clears than this within the window: flapping
    window_ns: int = 600 * 1_000_000_000


def actor(caller: Principal) -> str:
    return f"{caller.kind.value}:{caller.subject}"


class Alarms:
    def __init__(
        self, db: Transactions, mailer: Mailer, public_url: str, flap: FlapLimit = FlapLimit()
    ) -> None:
        self._db = db
        self._mailer = mailer
        self._public_url = public_url.rstrip("/")
        self._flap = flap

    async def report(self, caller: Principal, condition: Condition) -> list[Transition]:
        """The transitions the condition caused (none when it was reported already)."""
        caller.require_service("worker", "analytics")
        tenant_id = caller.require_tenant()
        _check(condition)
        async with self._db.tenant(tenant_id) as conn:
            rules = await self._rules_for(conn, condition)
            found = [await self._apply(conn, tenant_id, caller, rule, condition) for rule in rules]
        return [t for t in found if t is not None]

    async def _rules_for(self, conn: Any, condition: Condition) -> list[Rule]:
        if condition.rule_id:
            rule = await storage.get_rule(conn, parse_id("rule_id", condition.rule_id))
            if rule is None:
                raise NotFound("alarm rule not found", reason="ALARM_RULE_NOT_FOUND")
            return [rule] if rule.enabled else []
        if condition.kind not in EVENT_KINDS:
            raise InvalidArgument.of("kind", "without a rule_id, the kind is spc_violation or anomaly")
        series_id = parse_id("series_id", condition.series_id)
        if not await storage.series_exists(conn, series_id):
            raise NotFound("series not found", reason="SERIES_NOT_FOUND")
        return await storage.rules_on(conn, series_id, condition.kind)

    async def _apply(
        self, conn: Any, tenant_id: uuid.UUID, caller: Principal, rule: Rule, c: Condition
    ) -> Transition | None:
        open_alarm = await storage.open_alarm(conn, rule.id)
        if c.active == (open_alarm is not None):
            return None  # raised already, or nothing to clear
        held = await self._flapping(conn, rule, c.time_ns)
        event = "raised" if c.active else "cleared"
        if c.active:
            raised = {"time_ns": c.time_ns, "value": c.value, "detail": c.detail[:MAX_COMMENT], "held": held}
            alarm = await storage.insert_alarm(conn, tenant_id, rule, raised)
        else:
            alarm = await storage.set_state(conn, open_alarm.id, "cleared", c.time_ns, actor(caller))
        await storage.add_event(
            conn, tenant_id, alarm, Event(c.time_ns, event, actor(caller), c.detail, c.value)
        )
        endpoints = [
            e for e in await storage.list_endpoints(conn) if severity_at_least(rule.severity, e.min_severity)
        ]
        deliveries = await storage.add_deliveries(conn, tenant_id, alarm.id, event, endpoints, held)
        return Transition(alarm, event, deliveries)

    async def _flapping(self, conn: Any, rule: Rule, at_ns: int) -> bool:
        """Whether this change makes (or keeps) the rule flapping; the rule's flag follows."""
        changes = await storage.transitions_since(conn, rule.id, at_ns - self._flap.window_ns) + 1
        flapping = changes > self._flap.count
        await storage.set_flapping(conn, rule.id, flapping)
        return flapping

    async def list(
        self, caller: Principal, states: list[str], severities: list[str], limit: int, page_token: str
    ) -> tuple[list[Alarm], str]:
        """A page of the tenant's alarms, newest first, and the next page's token."""
        tenant_id = caller.require_scope(Scope.READ)
        if bad := [s for s in states if s not in STATES]:
            raise InvalidArgument.of("states", f"unknown state {bad[0]!r}")
        if bad := [s for s in severities if s not in SEVERITIES]:
            raise InvalidArgument.of("severities", f"unknown severity {bad[0]!r}")
        after = keyset.key_after(page_token, int, uuid.UUID)
        size = keyset.page_size(limit, 100, MAX_LIST)
        async with self._db.tenant(tenant_id) as conn:
            found = await storage.list_alarms(conn, states, severities, after, size + 1)
        return keyset.cut(found, size, lambda a: (a.raised_ns, a.id))

    async def get(self, caller: Principal, alarm_id: str) -> tuple[Alarm, list[Event]]:
        tenant_id = caller.require_scope(Scope.READ)
        alarm_uuid = parse_id("alarm_id", alarm_id)
        async with self._db.tenant(tenant_id) as conn:
            alarm = await _require(conn, alarm_uuid)
            return alarm, await storage.events_of(conn, alarm_uuid)

    async def acknowledge(self, caller: Principal, alarm_id: str, comment: str) -> Alarm:
        return await self._act(caller, alarm_id, comment, "acknowledged", ("raised",))

    async def clear(self, caller: Principal, alarm_id: str, comment: str) -> Alarm:
        return await self._act(caller, alarm_id, comment, "cleared", ("raised", "acknowledged"))

    async def comment(self, caller: Principal, alarm_id: str, comment: str) -> Alarm:
        if not comment.strip():
            raise InvalidArgument.of("comment", "must not be empty")
        return await self._act(caller, alarm_id, comment, "commented", STATES)

    async def _act(self, caller: Principal, alarm_id: str, comment: str, action: str, from_states) -> Alarm:
        tenant_id = caller.require_role(*RESPONDERS)
        alarm_uuid = parse_id("alarm_id", alarm_id)
        if len(comment) > MAX_COMMENT:
            raise InvalidArgument.of("comment", f"must be at most {MAX_COMMENT} characters")
        now_ns = time.time_ns()
        async with self._db.tenant(tenant_id) as conn:
            alarm = await _require(conn, alarm_uuid, lock=True)
            if alarm.state not in from_states:
                raise FailedPrecondition(f"the alarm is {alarm.state}", reason=f"ALARM_{alarm.state.upper()}")
            if action != "commented":
                alarm = await storage.set_state(conn, alarm_uuid, action, now_ns, actor(caller))
            await storage.add_event(
                conn, tenant_id, alarm, Event(now_ns, action, actor(caller), comment, 0.0)
            )
            await audit.record(conn, caller, f"alarm.{action}", target=alarm_id)
        return alarm

    async def record_delivery(
        self, caller: Principal, delivery_id: str, delivered: bool, attempts: int, error: str
    ) -> None:
        caller.require_service("worker")
        tenant_id = caller.require_tenant()
        delivery_uuid = parse_id("delivery_id", delivery_id)
        async with self._db.tenant(tenant_id) as conn:
            await storage.finish_delivery(conn, delivery_uuid, delivered, attempts, error)

    async def claim_abandoned(self, caller: Principal, older_than_s: int) -> list[Transition]:
        """The tenant's deliveries whose worker stopped before finishing them, for another worker."""
        caller.require_service("worker")
        tenant_id = caller.require_tenant()
        if not 1 <= older_than_s <= 86_400:
            raise InvalidArgument.of("older_than_s", "must be 1 to 86,400 seconds")
        grouped: dict[tuple[uuid.UUID, str], list] = {}
        async with self._db.tenant(tenant_id) as conn:
            for alarm_id, event, delivery in await storage.claim_abandoned(conn, older_than_s):
                grouped.setdefault((alarm_id, event), []).append(delivery)
            alarms = {a: await storage.get_alarm(conn, a) for a, _ in grouped}
        return [Transition(alarms[a], event, found) for (a, event), found in grouped.items()]

    async def send_email(self, caller: Principal, delivery_id: str) -> None:
        """Mail one email delivery (once: a delivery recorded as sent is not sent again)."""
        caller.require_service("worker")
        tenant_id = caller.require_tenant()
        delivery_uuid = parse_id("delivery_id", delivery_id)
        async with self._db.tenant(tenant_id) as conn:
            found = await storage.pending_email(conn, delivery_uuid)
            if found is None:
                raise NotFound("alarm delivery not found", reason="ALARM_DELIVERY_NOT_FOUND")
            status, address, alarm_id, event = found
            if status != "pending":
                return
            alarm = await storage.get_alarm(conn, alarm_id)
            brand = await mail_brand_of_tenant(conn, tenant_id, self._public_url)
        await self._mailer.send(address, email_subject(alarm, event, brand), email_body(alarm, event, brand))
        async with self._db.tenant(tenant_id) as conn:
            await storage.finish_delivery(conn, delivery_uuid, True, 1, "")


async def _require(conn: Any, alarm_id: uuid.UUID, lock: bool = False) -> Alarm:
    alarm = await storage.get_alarm(conn, alarm_id, lock)
    if alarm is None:
        raise NotFound("alarm not found", reason="ALARM_NOT_FOUND")
    return alarm


def _check(condition: Condition) -> None:
    if condition.kind not in KINDS:
        raise InvalidArgument.of("kind", f"must be one of {', '.join(KINDS)}")
    if condition.time_ns <= 0:
        raise InvalidArgument.of("time_ns", "must be a time after 1970 (ns)")


def email_subject(alarm: Alarm, event: str, brand: MailBrand) -> str:
    return f"[{brand.product} {alarm.severity}] {alarm.rule_name}: {event}"


def email_body(alarm: Alarm, event: str, brand: MailBrand) -> str:
    at = alarm.raised_ns if event == "raised" else alarm.cleared_ns
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at / 1e9))
    return (
        f"Alarm {alarm.rule_name} ({alarm.kind}, {alarm.severity}) was {event} at {when}.\n"
        f"Value: {alarm.value:g}\n"
        + (f"Detail: {alarm.detail}\n" if alarm.detail else "")
        + f"\nAlarm id: {alarm.id}\nAcknowledge it in {brand.product}: {brand.link('/alarms')}\n"
    )
