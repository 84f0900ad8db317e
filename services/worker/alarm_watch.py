"""Evaluating alarm rules as data arrives, and on a timer (docs/ANALYTICS.md, "Alarms").

- **Trigger**: ingest publishes every committed batch's series on the tenant's live channel
  (`t:{tenant}:live`); the worker listens to all of them (PSUBSCRIBE `t:*:live`) and marks the tenant
  due. Every ``tick_s`` it evaluates the due tenants' threshold and rate rules on those series; every
  ``interval_s`` it evaluates every tenant's rules, no-data rules included (and so catches up on
  anything a missed message left).
- **From stored data**: a rule's points are read from the tenant's blocks after the rule's cursor, so
  every stored point is evaluated once, in time order, whatever the batching; after a worker outage
  the next evaluation catches up from the cursor, at most ``catch_up_s`` back. A point stored with a
  time at or before the cursor (late data) is not evaluated.
- **Idempotent**: the cursor and the condition's state live in Redis (`t:{tenant}:alarms:state`),
  written after tenancy recorded the change; tenancy ignores a condition already reported, so an
  evaluation repeated after a crash raises nothing twice. One worker at a time evaluates a tenant
  (`t:{tenant}:alarms:lock`, SET NX PX); other workers leave it due and try again.
- Changes are published on `t:{tenant}:alarms` (the GraphQL `alarms` subscription) and their
  notifications handed to the `Notifier`. A delivery left pending for ``abandoned_s`` (its worker stopped
  during the retries) is claimed from tenancy by the periodic pass and delivered again, under the same
  delivery id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError

from services.runtime.cells import CellDatabases
from services.runtime.errors import ServiceError
from services.runtime.keys import tenant_key
from services.worker import alarm_storage
from services.worker.alarm_client import AlarmClient
from services.worker.alarm_notify import Notifier
from services.worker.alarm_reporter import AlarmReporter
from services.worker.alarm_rules import Change, RuleView, rate_changes, silence_change, threshold_changes
from services.worker.directory import TenancyDirectory
from services.worker.turns import Turns
from sfcloud.v1 import alarms_pb2 as pb

log = logging.getLogger(__name__)

LIVE_PATTERN = "t:*:live"
LOCK_MS = 30_000
_KIND = {
    pb.ALARM_RULE_KIND_THRESHOLD: "threshold",
    pb.ALARM_RULE_KIND_RATE_OF_CHANGE: "rate_of_change",
    pb.ALARM_RULE_KIND_NO_DATA: "no_data",
}
_CONDITION = {
    pb.ALARM_CONDITION_ABOVE: "above",
    pb.ALARM_CONDITION_BELOW: "below",
    pb.ALARM_CONDITION_EQUALS: "equals",
}


@dataclass(frozen=True)
class WatchSettings:
    tick_s: float = 0.25  # due tenants are evaluated this often
    interval_s: float = 10.0  # every tenant (and every no-data rule) this often
    rules_ttl_s: float = 2.0  # a tenant's rules are asked of tenancy again after this
    catch_up_s: float = 3600.0  # an evaluation never reads further back than this
    abandoned_s: int = 300  # a delivery pending this long lost its worker: another takes it over


def view(rule: pb.AlarmRule) -> RuleView:
    s = rule.spec
    return RuleView(
        _KIND[rule.kind],
        _CONDITION.get(s.condition, ""),
        s.threshold,
        s.hysteresis,
        s.rate_unit_ns,
        s.window_ns,
    )


def state_key(tenant_id: uuid.UUID) -> str:
    return tenant_key(tenant_id, "alarms", "state")


class AlarmWatch:
    def __init__(
        self,
        redis: Any,
        cells: CellDatabases,
        directory: TenancyDirectory,
        client: AlarmClient,
        notifier: Notifier,
        settings: WatchSettings,
        holder: str,
    ) -> None:
        self._redis, self._cells, self._directory = redis, cells, directory
        self._client, self._notifier, self._settings = client, notifier, settings
        self._reporter = AlarmReporter(redis, client, notifier)
        self._turns = Turns(redis, holder)
        self._due: dict[uuid.UUID, set[str]] = {}
        self._cells_of: dict[uuid.UUID, str] = {}
        self._rules: dict[uuid.UUID, tuple[float, list[pb.AlarmRule]]] = {}
        self.stopping = asyncio.Event()

    async def run(self) -> None:
        listener = asyncio.create_task(self._listen())
        last_full = 0.0
        try:
            while not self.stopping.is_set():
                if time.monotonic() - last_full >= self._settings.interval_s:
                    last_full = time.monotonic()
                    await self._guarded(self.evaluate_all())
                await self._guarded(self.evaluate_due())
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), self._settings.tick_s)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def _guarded(self, work) -> None:
        try:
            await work
        except (RedisError, OSError, ServiceError) as exc:
            log.warning("alarm evaluation failed", extra={"error": repr(exc)})
        except Exception:  # a bug: logged, the loop goes on
            log.exception("alarm evaluation failed")

    async def _listen(self) -> None:
        while not self.stopping.is_set():
            try:
                pubsub = self._redis.pubsub()
                await pubsub.psubscribe(LIVE_PATTERN)
                async for message in pubsub.listen():
                    if message["type"] == "pmessage":
                        self._mark(message["channel"], message["data"])
            except (RedisError, OSError) as exc:
                log.warning("alarm feed unavailable", extra={"error": repr(exc)})
                await asyncio.sleep(1)

    def _mark(self, channel: bytes, data: bytes) -> None:
        try:
            tenant_id = uuid.UUID(channel.decode().split(":")[1])
            series = {p["s"] for p in json.loads(data)["points"]}
        except (ValueError, KeyError, IndexError, TypeError):
            return
        self._due.setdefault(tenant_id, set()).update(series)

    async def evaluate_due(self) -> None:
        due, self._due = self._due, {}
        for tenant_id, series in due.items():
            if not await self.evaluate(tenant_id, series):
                self._due.setdefault(tenant_id, set()).update(series)  # another worker held it: again later

    async def evaluate_all(self) -> None:
        """Every tenant's rules; for tenants with rules, also the deliveries a stopped worker left."""
        for tenant in await self._directory.tenants():
            self._cells_of[tenant.tenant_id] = tenant.cell
            await self.evaluate(tenant.tenant_id, None)
            if self._rules.get(tenant.tenant_id, (0.0, []))[1]:
                for transition in await self._client.claim_abandoned(
                    tenant.tenant_id, self._settings.abandoned_s
                ):
                    self._notifier.dispatch(tenant.tenant_id, transition)

    async def evaluate(
        self, tenant_id: uuid.UUID, series: set[str] | None, now_ns: int | None = None
    ) -> bool:
        """Evaluate the tenant's rules (those on ``series``, or all with None); False if another worker
        is evaluating the tenant."""
        rules = [r for r in await self._rules_of(tenant_id) if r.spec.enabled and r.kind in _KIND]
        if series is not None:
            rules = [r for r in rules if r.series_id in series]
        if not rules:
            return True
        async with self._turns.held(tenant_key(tenant_id, "alarms", "lock"), LOCK_MS) as mine:
            if not mine:
                return False
            cell = await self._cell(tenant_id)
            for rule in rules:
                await self._evaluate_rule(tenant_id, cell, rule, now_ns or time.time_ns())
        return True

    async def _rules_of(self, tenant_id: uuid.UUID) -> list[pb.AlarmRule]:
        cached = self._rules.get(tenant_id)
        if cached and time.monotonic() - cached[0] < self._settings.rules_ttl_s:
            return cached[1]
        rules = await self._client.rules(tenant_id)
        self._rules[tenant_id] = (time.monotonic(), rules)
        return rules

    async def _cell(self, tenant_id: uuid.UUID) -> str:
        if tenant_id not in self._cells_of:
            self._cells_of.update({t.tenant_id: t.cell for t in await self._directory.tenants()})
        return self._cells_of.get(tenant_id, "default")

    async def _evaluate_rule(self, tenant_id: uuid.UUID, cell: str, rule: pb.AlarmRule, now_ns: int) -> None:
        raw = await self._redis.hget(state_key(tenant_id), rule.id)
        state = json.loads(raw) if raw else {"ns": rule.created_ns, "on": False}
        after = max(state["ns"], now_ns - int(self._settings.catch_up_s * 1e9))
        changes, cursor = await self._changes(tenant_id, cell, rule, state["on"], after, now_ns)
        for change in changes:
            await self._report(tenant_id, rule, change)
        active = changes[-1].active if changes else state["on"]
        if changes or cursor != state["ns"]:
            await self._redis.hset(state_key(tenant_id), rule.id, json.dumps({"ns": cursor, "on": active}))

    async def _changes(
        self, tenant_id: uuid.UUID, cell: str, rule: pb.AlarmRule, active: bool, after: int, now_ns: int
    ) -> tuple[list[Change], int]:
        """The changes of the rule's condition since ``after``, and the new cursor."""
        r = view(rule)
        async with self._cells.tenant(tenant_id, cell) as conn:
            if r.kind == "no_data":
                last = await alarm_storage.last_batch_ns(conn, uuid.UUID(rule.device_id))
                change = silence_change(r, active, max(last or 0, rule.created_ns), now_ns)
                return ([change] if change else []), now_ns
            history = r.window_ns if r.kind == "rate_of_change" else 0
            ts, vs = await alarm_storage.points_after(
                conn, tenant_id, uuid.UUID(rule.series_id), after - history, now_ns
            )
        cursor = int(ts[-1]) if ts.size and ts[-1] > after else after
        if r.kind == "rate_of_change":
            return rate_changes(r, active, ts, vs, after), cursor
        new = ts > after
        return threshold_changes(r, active, ts[new].tolist(), vs[new].tolist()), cursor

    async def _report(self, tenant_id: uuid.UUID, rule: pb.AlarmRule, change: Change) -> None:
        request = pb.ReportAlarmConditionRequest(
            rule_id=rule.id,
            series_id=rule.series_id,
            kind=rule.kind,
            time_ns=change.time_ns,
            active=change.active,
            value=change.value,
        )
        await self._reporter.report(tenant_id, request)
