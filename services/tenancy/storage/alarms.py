"""Alarm rules, endpoints, alarms, their history and their deliveries (docs/ANALYTICS.md, "Alarms")."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from psycopg import AsyncConnection
from psycopg.rows import class_row

from services.tenancy.alarm_models import Alarm, Delivery, Endpoint, Event, Rule, RuleSpec

_RULE = (
    "id, kind, series_id, device_id, name, severity, condition, threshold, hysteresis, rate_unit_ns,"
    " window_ns, enabled, flapping, template, created_at, updated_at"
)
_ALARM = (
    "id, rule_id, rule_name, kind, severity, state, series_id, device_id, raised_ns, value, detail,"
    " acknowledged_ns, acknowledged_by, cleared_ns, cleared_by, held"
)
_ENDPOINT = "id, kind, target, secret, min_severity, created_at"


async def insert_rule(
    conn: AsyncConnection,
    tenant_id: uuid.UUID,
    rule_id: uuid.UUID,
    kind: str,
    target: tuple[uuid.UUID | None, uuid.UUID | None],
    spec: RuleSpec,
    template: str | None = None,
) -> Rule | None:
    """None when a rule with this id exists already (template rules are added idempotently)."""
    cur = conn.cursor(row_factory=class_row(Rule))
    await cur.execute(
        "INSERT INTO tenancy.alarm_rules (tenant_id, id, kind, series_id, device_id, name, severity, condition,"  # noqa: S608 (constant column lists)
        " threshold, hysteresis, rate_unit_ns, window_ns, enabled, template)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        f" ON CONFLICT (tenant_id, id) DO NOTHING RETURNING {_RULE}",
        [tenant_id, rule_id, kind, *target, *_spec_values(spec), template],
    )
    return await cur.fetchone()


def _spec_values(spec: RuleSpec) -> list:
    return [
        spec.name,
        spec.severity,
        spec.condition,
        spec.threshold,
        spec.hysteresis,
        spec.rate_unit_ns,
        spec.window_ns,
        spec.enabled,
    ]


async def update_rule(conn: AsyncConnection, rule_id: uuid.UUID, spec: RuleSpec) -> Rule | None:
    cur = conn.cursor(row_factory=class_row(Rule))
    await cur.execute(
        "UPDATE tenancy.alarm_rules SET name = %s, severity = %s, condition = %s, threshold = %s,"  # noqa: S608 (constant column lists)
        " hysteresis = %s, rate_unit_ns = %s, window_ns = %s, enabled = %s, updated_at = now()"
        f" WHERE id = %s RETURNING {_RULE}",
        [*_spec_values(spec), rule_id],
    )
    return await cur.fetchone()


async def delete_rule(conn: AsyncConnection, rule_id: uuid.UUID) -> bool:
    cur = await conn.execute("DELETE FROM tenancy.alarm_rules WHERE id = %s", [rule_id])
    return cur.rowcount == 1


async def get_rule(conn: AsyncConnection, rule_id: uuid.UUID) -> Rule | None:
    cur = conn.cursor(row_factory=class_row(Rule))
    await cur.execute(f"SELECT {_RULE} FROM tenancy.alarm_rules WHERE id = %s FOR UPDATE", [rule_id])  # noqa: S608 (constant column lists)
    return await cur.fetchone()


async def list_rules(conn: AsyncConnection) -> list[Rule]:
    cur = conn.cursor(row_factory=class_row(Rule))
    await cur.execute(f"SELECT {_RULE} FROM tenancy.alarm_rules ORDER BY created_at, id")  # noqa: S608 (constant column lists)
    return await cur.fetchall()


async def rules_on(conn: AsyncConnection, series_id: uuid.UUID, kind: str) -> list[Rule]:
    """The enabled rules of ``kind`` on a series, locked for the caller's transaction."""
    cur = conn.cursor(row_factory=class_row(Rule))
    await cur.execute(
        f"SELECT {_RULE} FROM tenancy.alarm_rules WHERE series_id = %s AND kind = %s AND enabled"  # noqa: S608 (constant column lists)
        " ORDER BY id FOR UPDATE",
        [series_id, kind],
    )
    return await cur.fetchall()


async def set_flapping(conn: AsyncConnection, rule_id: uuid.UUID, flapping: bool) -> None:
    await conn.execute(
        "UPDATE tenancy.alarm_rules SET flapping = %s WHERE id = %s AND flapping <> %s",
        [flapping, rule_id, flapping],
    )


async def transitions_since(conn: AsyncConnection, rule_id: uuid.UUID, since_ns: int) -> int:
    """How often the rule's condition raised or cleared an alarm after ``since_ns`` (hand clears not counted)."""
    cur = await conn.execute(
        "SELECT count(*) FROM tenancy.alarm_events WHERE rule_id = %s AND at_ns > %s"
        " AND action IN ('raised', 'cleared') AND actor LIKE 'service:%%'",
        [rule_id, since_ns],
    )
    return (await cur.fetchone())[0]


async def series_exists(conn: AsyncConnection, series_id: uuid.UUID) -> bool:
    cur = await conn.execute("SELECT EXISTS (SELECT 1 FROM tenancy.series WHERE id = %s)", [series_id])
    return (await cur.fetchone())[0]


async def device_exists(conn: AsyncConnection, device_id: uuid.UUID) -> bool:
    cur = await conn.execute("SELECT EXISTS (SELECT 1 FROM tenancy.devices WHERE id = %s)", [device_id])
    return (await cur.fetchone())[0]


async def insert_endpoint(conn: AsyncConnection, tenant_id: uuid.UUID, endpoint: Endpoint) -> None:
    await conn.execute(
        "INSERT INTO tenancy.alarm_endpoints (tenant_id, id, kind, target, secret, min_severity)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        [tenant_id, endpoint.id, endpoint.kind, endpoint.target, endpoint.secret, endpoint.min_severity],
    )


async def list_endpoints(conn: AsyncConnection) -> list[Endpoint]:
    cur = conn.cursor(row_factory=class_row(Endpoint))
    await cur.execute(f"SELECT {_ENDPOINT} FROM tenancy.alarm_endpoints ORDER BY created_at, id")  # noqa: S608 (constant column lists)
    return await cur.fetchall()


async def delete_endpoint(conn: AsyncConnection, endpoint_id: uuid.UUID) -> bool:
    cur = await conn.execute("DELETE FROM tenancy.alarm_endpoints WHERE id = %s", [endpoint_id])
    return cur.rowcount == 1


async def open_alarm(conn: AsyncConnection, rule_id: uuid.UUID) -> Alarm | None:
    cur = conn.cursor(row_factory=class_row(Alarm))
    await cur.execute(
        f"SELECT {_ALARM} FROM tenancy.alarms WHERE rule_id = %s AND state <> 'cleared' FOR UPDATE",  # noqa: S608 (constant column lists)
        [rule_id],
    )
    return await cur.fetchone()


async def insert_alarm(conn: AsyncConnection, tenant_id: uuid.UUID, rule: Rule, raised: dict) -> Alarm:
    cur = conn.cursor(row_factory=class_row(Alarm))
    await cur.execute(
        "INSERT INTO tenancy.alarms (tenant_id, id, rule_id, rule_name, kind, severity, series_id, device_id,"  # noqa: S608 (constant column lists)
        " state, raised_ns, value, detail, held) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'raised', %s, %s, %s, %s)"
        f" RETURNING {_ALARM}",
        [
            tenant_id,
            uuid.uuid4(),
            rule.id,
            rule.name,
            rule.kind,
            rule.severity,
            rule.series_id,
            rule.device_id,
            raised["time_ns"],
            raised["value"],
            raised["detail"],
            raised["held"],
        ],
    )
    return await cur.fetchone()


async def get_alarm(conn: AsyncConnection, alarm_id: uuid.UUID, lock: bool = False) -> Alarm | None:
    cur = conn.cursor(row_factory=class_row(Alarm))
    lock_clause = " FOR UPDATE" if lock else ""
    await cur.execute(
        f"SELECT {_ALARM} FROM tenancy.alarms WHERE id = %s{lock_clause}",  # noqa: S608 (constant column lists)
        [alarm_id],
    )
    return await cur.fetchone()


async def set_state(conn: AsyncConnection, alarm_id: uuid.UUID, state: str, at_ns: int, actor: str) -> Alarm:
    """Acknowledged or cleared, by whom and when."""
    column = "acknowledged" if state == "acknowledged" else "cleared"
    cur = conn.cursor(row_factory=class_row(Alarm))
    await cur.execute(
        f"UPDATE tenancy.alarms SET state = %s, {column}_ns = %s, {column}_by = %s WHERE id = %s"  # noqa: S608 (constant column lists)
        f" RETURNING {_ALARM}",
        [state, at_ns, actor, alarm_id],
    )
    return await cur.fetchone()


async def list_alarms(
    conn: AsyncConnection, states: Sequence[str], severities: Sequence[str], after: tuple, limit: int
) -> list[Alarm]:
    """Newest first, below the (raised_ns, id) key ``after`` (Nones: from the newest)."""
    cur = conn.cursor(row_factory=class_row(Alarm))
    await cur.execute(
        f"SELECT {_ALARM} FROM tenancy.alarms WHERE (cardinality(%(states)s::text[]) = 0 OR state = ANY(%(states)s))"  # noqa: S608 (constant column lists)
        " AND (cardinality(%(severities)s::text[]) = 0 OR severity = ANY(%(severities)s))"
        " AND (%(at)s::bigint IS NULL OR (raised_ns, id) < (%(at)s, %(id)s::uuid))"
        " ORDER BY raised_ns DESC, id DESC LIMIT %(limit)s",
        {
            "states": list(states),
            "severities": list(severities),
            "at": after[0],
            "id": after[1],
            "limit": limit,
        },
    )
    return await cur.fetchall()


async def add_event(conn: AsyncConnection, tenant_id: uuid.UUID, alarm: Alarm, event: Event) -> None:
    await conn.execute(
        "INSERT INTO tenancy.alarm_events (tenant_id, alarm_id, rule_id, at_ns, action, actor, comment, value)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        [
            tenant_id,
            alarm.id,
            alarm.rule_id,
            event.at_ns,
            event.action,
            event.actor,
            event.comment,
            event.value,
        ],
    )


async def events_of(conn: AsyncConnection, alarm_id: uuid.UUID) -> list[Event]:
    cur = conn.cursor(row_factory=class_row(Event))
    await cur.execute(
        "SELECT at_ns, action, actor, comment, value FROM tenancy.alarm_events WHERE alarm_id = %s ORDER BY id",
        [alarm_id],
    )
    return await cur.fetchall()


async def add_deliveries(
    conn: AsyncConnection,
    tenant_id: uuid.UUID,
    alarm_id: uuid.UUID,
    event: str,
    endpoints: list[Endpoint],
    held: bool,
) -> list[Delivery]:
    """A delivery per endpoint: pending (returned, for the worker), or held (recorded, never sent)."""
    made = []
    for endpoint in endpoints:
        delivery = Delivery(uuid.uuid4(), endpoint.id, endpoint.kind, endpoint.target, endpoint.secret)
        await conn.execute(
            "INSERT INTO tenancy.alarm_deliveries (tenant_id, id, alarm_id, event, endpoint_id, status)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            [tenant_id, delivery.id, alarm_id, event, endpoint.id, "held" if held else "pending"],
        )
        made.append(delivery)
    return [] if held else made


async def pending_email(
    conn: AsyncConnection, delivery_id: uuid.UUID
) -> tuple[str, str, uuid.UUID, str] | None:
    """(status, address, alarm id, event) of an email delivery, locked; None if there is none."""
    cur = await conn.execute(
        "SELECT d.status, e.target, d.alarm_id, d.event FROM tenancy.alarm_deliveries d"
        " JOIN tenancy.alarm_endpoints e ON e.tenant_id = d.tenant_id AND e.id = d.endpoint_id"
        " WHERE d.id = %s AND e.kind = 'email' FOR UPDATE OF d",
        [delivery_id],
    )
    return await cur.fetchone()


async def finish_delivery(
    conn: AsyncConnection, delivery_id: uuid.UUID, delivered: bool, attempts: int, error: str
) -> bool:
    """Record the outcome of a pending delivery; False when there is none such (or it was recorded)."""
    cur = await conn.execute(
        "UPDATE tenancy.alarm_deliveries SET status = %s, attempts = greatest(attempts, %s), last_error = %s,"
        " updated_at = now() WHERE id = %s AND status = 'pending'",
        ["delivered" if delivered else "failed", attempts, error[:2000], delivery_id],
    )
    return cur.rowcount == 1


async def delivery_statuses(conn: AsyncConnection, alarm_id: uuid.UUID) -> list[tuple[str, str, int]]:
    """(event, status, attempts) of an alarm's deliveries."""
    cur = await conn.execute(
        "SELECT event, status, attempts FROM tenancy.alarm_deliveries WHERE alarm_id = %s ORDER BY created_at",
        [alarm_id],
    )
    return await cur.fetchall()


async def claim_abandoned(
    conn: AsyncConnection, older_than_s: int, limit: int = 100
) -> list[tuple[uuid.UUID, str, Delivery]]:
    """(alarm id, event, delivery) of pending deliveries untouched for ``older_than_s``, leased anew."""
    cur = await conn.execute(
        "WITH claimed AS (UPDATE tenancy.alarm_deliveries SET updated_at = now() WHERE (tenant_id, id) IN ("
        "  SELECT tenant_id, id FROM tenancy.alarm_deliveries WHERE status = 'pending'"
        "  AND updated_at < now() - make_interval(secs => %s) ORDER BY created_at LIMIT %s FOR UPDATE SKIP LOCKED)"
        " RETURNING tenant_id, id, alarm_id, event, endpoint_id)"
        " SELECT c.alarm_id, c.event, c.id, e.id, e.kind, e.target, e.secret FROM claimed c"
        " JOIN tenancy.alarm_endpoints e ON e.tenant_id = c.tenant_id AND e.id = c.endpoint_id",
        [older_than_s, limit],
    )
    return [(row[0], row[1], Delivery(*row[2:])) for row in await cur.fetchall()]
