"""Alarm rules and the lifecycle in tenancy: rules only on the tenant's own series (another tenant's is
NOT_FOUND), settings checked per kind, conditions reported idempotently, raised → acknowledged → cleared
and cleared without acknowledgement with comments and actors, the SPC and anomaly hook, flapping, and
the industry templates' default rules."""

from __future__ import annotations

import time
import uuid

import grpc
import pytest

from services.runtime.principal import Kind, Principal, Role
from services.runtime.tokens import service_principal
from services.tenancy.catalog import load_templates
from sfcloud.v1 import alarms_pb2 as pb
from sfcloud.v1 import tenancy_pb2 as tpb
from tests.alarms.helpers import S, above, alarm_api, threshold_rule
from tests.control_plane import OPERATOR, rejected
from tests.e2e.test_bad_input import reason_of
from tests.tenancy.test_retention_mail import violated_field
from tests.tenancy.test_subscriptions import _machine


@pytest.fixture
async def alarms(stack, signer):
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
        yield alarm_api(channel, signer)


async def tenant_with_series(tenancy) -> tuple[tpb.Tenant, Principal, str]:
    tenant, owner = await tenancy.tenant(OPERATOR)
    machine = await _machine(tenancy, owner)
    request = tpb.CreateSeriesRequest(machine_id=machine, name="temp", unit="degC", kind="gauge")
    series = (await tenancy.call("CreateSeries", request, owner)).series
    return tenant, owner, series.id


def worker_of(tenant: tpb.Tenant) -> Principal:
    return service_principal("worker", uuid.UUID(tenant.id))


def condition(rule_id: str, t_ns: int, active: bool, value: float = 0.0) -> pb.ReportAlarmConditionRequest:
    return pb.ReportAlarmConditionRequest(
        rule_id=rule_id, kind=pb.ALARM_RULE_KIND_THRESHOLD, time_ns=t_ns, active=active, value=value
    )


async def test_a_rule_on_another_tenants_series_is_not_found(tenancy, alarms):
    _, owner_a, series_a = await tenant_with_series(tenancy)
    _, owner_b, _ = await tenant_with_series(tenancy)
    error = await rejected(alarms.call("CreateAlarmRule", threshold_rule(series_a, above(80)), owner_b))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert reason_of(error) == "SERIES_NOT_FOUND"
    # The same for a series that never existed, and for a device of another tenant.
    unknown = await rejected(
        alarms.call("CreateAlarmRule", threshold_rule(str(uuid.uuid4()), above(80)), owner_b)
    )
    assert (unknown.code(), reason_of(unknown)) == (grpc.StatusCode.NOT_FOUND, "SERIES_NOT_FOUND")
    device = (await tenancy.call("CreateDevice", tpb.CreateDeviceRequest(name="edge"), owner_a)).device
    no_data = pb.CreateAlarmRuleRequest(
        kind=pb.ALARM_RULE_KIND_NO_DATA,
        device_id=device.id,
        spec=pb.AlarmRuleSpec(
            name="silent", severity=pb.ALARM_SEVERITY_WARNING, window_ns=60 * S, enabled=True
        ),
    )
    assert (
        await rejected(alarms.call("CreateAlarmRule", no_data, owner_b))
    ).code() == grpc.StatusCode.NOT_FOUND
    assert (await alarms.call("CreateAlarmRule", no_data, owner_a)).rule.device_id == device.id
    # B's rule list holds none of A's rules; A's owner can make one on its own series.
    made = (await alarms.call("CreateAlarmRule", threshold_rule(series_a, above(80)), owner_a)).rule
    assert made.series_id == series_a
    assert made.id not in {
        r.id for r in (await alarms.call("ListAlarmRules", pb.ListAlarmRulesRequest(), owner_b)).rules
    }
    # B cannot change or delete A's rule either: it does not exist for B.
    for method, request in (
        ("UpdateAlarmRule", pb.UpdateAlarmRuleRequest(rule_id=made.id, spec=above(90))),
        ("DeleteAlarmRule", pb.DeleteAlarmRuleRequest(rule_id=made.id)),
    ):
        assert (await rejected(alarms.call(method, request, owner_b))).code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(
    ("kind", "spec", "field"),
    [
        (pb.ALARM_RULE_KIND_THRESHOLD, pb.AlarmRuleSpec(name="x", severity=1), "spec.condition"),
        (pb.ALARM_RULE_KIND_THRESHOLD, pb.AlarmRuleSpec(name="x", condition=1), "spec.severity"),
        (pb.ALARM_RULE_KIND_THRESHOLD, pb.AlarmRuleSpec(name="", severity=1, condition=1), "spec.name"),
        (
            pb.ALARM_RULE_KIND_THRESHOLD,
            pb.AlarmRuleSpec(name="x", severity=1, condition=1, hysteresis=-1),
            "spec.hysteresis",
        ),
        (
            pb.ALARM_RULE_KIND_THRESHOLD,
            pb.AlarmRuleSpec(name="x", severity=1, condition=1, threshold=float("nan")),
            "spec.threshold",
        ),
        (
            pb.ALARM_RULE_KIND_RATE_OF_CHANGE,
            pb.AlarmRuleSpec(name="x", severity=1, condition=1, window_ns=S // 2),
            "spec.window_ns",
        ),
        (
            pb.ALARM_RULE_KIND_RATE_OF_CHANGE,
            pb.AlarmRuleSpec(name="x", severity=1, condition=3, window_ns=S),
            "spec.condition",
        ),
        (
            pb.ALARM_RULE_KIND_RATE_OF_CHANGE,
            pb.AlarmRuleSpec(name="x", severity=1, condition=1, window_ns=S, rate_unit_ns=7),
            "spec.rate_unit_ns",
        ),
        (pb.ALARM_RULE_KIND_UNSPECIFIED, pb.AlarmRuleSpec(name="x", severity=1, condition=1), "kind"),
    ],
)
async def test_bad_rule_settings_are_refused_naming_the_field(tenancy, alarms, kind, spec, field):
    _, owner, series = await tenant_with_series(tenancy)
    request = pb.CreateAlarmRuleRequest(kind=kind, series_id=series, spec=spec)
    error = await rejected(alarms.call("CreateAlarmRule", request, owner))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_field(error) == field


async def test_raise_acknowledge_clear_with_comments_and_actors(tenancy, alarms):
    tenant, owner, series = await tenant_with_series(tenancy)
    rule = (await alarms.call("CreateAlarmRule", threshold_rule(series, above(80, 5)), owner)).rule
    worker, t0 = worker_of(tenant), time.time_ns()
    raised = (
        await alarms.call("ReportAlarmCondition", condition(rule.id, t0, True, 81.5), worker)
    ).transitions
    assert [t.event for t in raised] == ["raised"]
    alarm = raised[0].alarm
    assert (alarm.state, alarm.severity, alarm.value, alarm.raised_ns) == (pb.ALARM_STATE_RAISED, 3, 81.5, t0)
    # Reported again (a worker retrying after a crash): nothing new.
    again = await alarms.call("ReportAlarmCondition", condition(rule.id, t0 + S, True, 82), worker)
    assert list(again.transitions) == []

    operator = Principal(Kind.USER, str(uuid.uuid4()), tenant_id=uuid.UUID(tenant.id), role=Role.OPERATOR)
    viewer = Principal(Kind.USER, str(uuid.uuid4()), tenant_id=uuid.UUID(tenant.id), role=Role.VIEWER)
    denied = await rejected(
        alarms.call("AcknowledgeAlarm", pb.AcknowledgeAlarmRequest(alarm_id=alarm.id), viewer)
    )
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
    acked = (
        await alarms.call(
            "AcknowledgeAlarm", pb.AcknowledgeAlarmRequest(alarm_id=alarm.id, comment="on it"), operator
        )
    ).alarm
    assert (acked.state, acked.acknowledged_by) == (pb.ALARM_STATE_ACKNOWLEDGED, f"user:{operator.subject}")
    twice = await rejected(
        alarms.call("AcknowledgeAlarm", pb.AcknowledgeAlarmRequest(alarm_id=alarm.id), operator)
    )
    assert (twice.code(), reason_of(twice)) == (grpc.StatusCode.FAILED_PRECONDITION, "ALARM_ACKNOWLEDGED")
    await alarms.call(
        "CommentAlarm", pb.CommentAlarmRequest(alarm_id=alarm.id, comment="fan replaced"), owner
    )
    cleared = (
        await alarms.call("ReportAlarmCondition", condition(rule.id, t0 + 9 * S, False, 74), worker)
    ).transitions
    assert cleared[0].event == "cleared" and cleared[0].alarm.cleared_by == "service:worker"

    got = await alarms.call("GetAlarm", pb.GetAlarmRequest(alarm_id=alarm.id), viewer)
    assert got.alarm.state == pb.ALARM_STATE_CLEARED
    assert [(e.action, e.actor, e.comment) for e in got.events] == [
        ("raised", "service:worker", ""),
        ("acknowledged", f"user:{operator.subject}", "on it"),
        ("commented", f"user:{owner.subject}", "fan replaced"),
        ("cleared", "service:worker", ""),
    ]
    # The people's acts are in the tenant's audit log too.
    audit = await tenancy.call("ListAuditEvents", tpb.ListAuditEventsRequest(), owner)
    actions = {(e.action, e.target) for e in audit.events}
    assert {
        ("alarm.acknowledged", alarm.id),
        ("alarm.commented", alarm.id),
        ("alarm_rule.create", rule.id),
    } <= actions

    # Raised again, then cleared by hand without acknowledgement; the condition's clear then finds nothing.
    second = (
        await alarms.call("ReportAlarmCondition", condition(rule.id, t0 + 20 * S, True, 90), worker)
    ).transitions
    by_hand = (
        await alarms.call(
            "ClearAlarm", pb.ClearAlarmRequest(alarm_id=second[0].alarm.id, comment="test rig"), owner
        )
    ).alarm
    assert (by_hand.state, by_hand.acknowledged_ns, by_hand.cleared_by) == (
        pb.ALARM_STATE_CLEARED,
        0,
        f"user:{owner.subject}",
    )
    late = await alarms.call("ReportAlarmCondition", condition(rule.id, t0 + 30 * S, False, 70), worker)
    assert list(late.transitions) == []
    listed = await alarms.call(
        "ListAlarms",
        pb.ListAlarmsRequest(states=[pb.ALARM_STATE_CLEARED], severities=[pb.ALARM_SEVERITY_CRITICAL]),
        viewer,
    )
    assert [a.id for a in listed.alarms] == [second[0].alarm.id, alarm.id]
    none = await alarms.call("ListAlarms", pb.ListAlarmsRequest(states=[pb.ALARM_STATE_RAISED]), viewer)
    assert list(none.alarms) == []


async def test_spc_violations_and_anomalies_raise_through_the_hook(tenancy, alarms):
    tenant, owner, series = await tenant_with_series(tenancy)
    for kind, name in (
        (pb.ALARM_RULE_KIND_SPC_VIOLATION, "out of control"),
        (pb.ALARM_RULE_KIND_ANOMALY, "odd"),
    ):
        spec = pb.AlarmRuleSpec(name=name, severity=pb.ALARM_SEVERITY_WARNING, enabled=True)
        await alarms.call(
            "CreateAlarmRule", pb.CreateAlarmRuleRequest(kind=kind, series_id=series, spec=spec), owner
        )
    analytics = service_principal("analytics", uuid.UUID(tenant.id))
    event = pb.ReportAlarmConditionRequest(
        series_id=series,
        kind=pb.ALARM_RULE_KIND_SPC_VIOLATION,
        time_ns=time.time_ns(),
        active=True,
        value=12.5,
        detail="Western Electric rule 1: a point beyond 3 sigma",
    )
    found = (await alarms.call("ReportAlarmCondition", event, analytics)).transitions
    assert [(t.event, t.alarm.rule_name, t.alarm.detail) for t in found] == [
        ("raised", "out of control", "Western Electric rule 1: a point beyond 3 sigma")
    ]
    anomaly = pb.ReportAlarmConditionRequest(
        series_id=series, kind=pb.ALARM_RULE_KIND_ANOMALY, time_ns=time.time_ns(), active=True
    )
    started = (await alarms.call("ReportAlarmCondition", anomaly, analytics)).transitions
    anomaly.active, anomaly.time_ns = False, time.time_ns()
    ended = (await alarms.call("ReportAlarmCondition", anomaly, analytics)).transitions
    assert [t.event for t in started] + [t.event for t in ended] == ["raised", "cleared"]
    # Another tenant's series through the hook: NOT_FOUND; a threshold kind without a rule: refused.
    _other, _, other_series = await tenant_with_series(tenancy)
    event.series_id = other_series
    assert (
        await rejected(alarms.call("ReportAlarmCondition", event, analytics))
    ).code() == grpc.StatusCode.NOT_FOUND
    event.series_id, event.kind = series, pb.ALARM_RULE_KIND_THRESHOLD
    assert violated_field(await rejected(alarms.call("ReportAlarmCondition", event, analytics))) == "kind"
    # Only services report conditions: a tenant's owner cannot.
    assert (
        await rejected(alarms.call("ReportAlarmCondition", anomaly, owner))
    ).code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_flapping_rule_holds_its_notifications(tenancy, alarms):
    tenant, owner, series = await tenant_with_series(tenancy)
    endpoint = pb.CreateAlarmEndpointRequest(
        kind=pb.ALARM_ENDPOINT_KIND_WEBHOOK,
        target="http://127.0.0.1:9/hook",
        min_severity=pb.ALARM_SEVERITY_INFO,
    )
    made = await alarms.call("CreateAlarmEndpoint", endpoint, owner)
    assert made.secret.startswith("whsec_") and len(made.secret) > 40
    rule = (await alarms.call("CreateAlarmRule", threshold_rule(series, above(80)), owner)).rule
    worker, t0 = worker_of(tenant), time.time_ns()
    sent = []
    for i in range(8):  # raise, clear, raise, ... one second apart: 8 changes within the 10-minute window
        answer = await alarms.call("ReportAlarmCondition", condition(rule.id, t0 + i * S, i % 2 == 0), worker)
        sent.append(len(answer.transitions[0].deliveries))
    assert sent == [1, 1, 1, 1, 1, 0, 0, 0]  # the sixth change within the window makes the rule flap
    rules = (await alarms.call("ListAlarmRules", pb.ListAlarmRulesRequest(), owner)).rules
    assert [r.flapping for r in rules] == [True]
    # The seventh change raised an alarm that says it was held.
    held = await alarms.call("ListAlarms", pb.ListAlarmsRequest(), owner)
    assert [a.held for a in held.alarms][:1] == [True]
    # Quiet for longer than the window: the next change is notified again and the rule stops flapping.
    later = await alarms.call("ReportAlarmCondition", condition(rule.id, t0 + 700 * S, True), worker)
    assert len(later.transitions[0].deliveries) == 1
    assert [
        r.flapping for r in (await alarms.call("ListAlarmRules", pb.ListAlarmRulesRequest(), owner)).rules
    ] == [False]


async def test_templates_bring_their_default_rules(tenancy, alarms):
    template = load_templates()["injection-moulding"].data
    _tenant, owner = await tenancy.tenant(OPERATOR, template="injection-moulding")
    rules = (await alarms.call("ListAlarmRules", pb.ListAlarmRulesRequest(), owner)).rules
    series = {s.id: s for s in (await tenancy.call("ListSeries", tpb.ListSeriesRequest(), owner)).series}
    machines = [m for site in template["layout"]["sites"] for line in site["lines"] for m in line["machines"]]
    expected = sum(len(template["machine_types"][m["type"]]["alarms"]) for m in machines)
    assert expected > 0 and len(rules) == expected
    first_type = template["machine_types"][machines[0]["type"]]
    default = first_type["alarms"][0]
    matching = [r for r in rules if series[r.series_id].name == default["series"]]
    rule = matching[0]
    assert rule.kind == pb.ALARM_RULE_KIND_THRESHOLD and rule.template == machines[0]["type"]
    assert rule.spec.threshold == default["threshold"]
    assert pb.AlarmSeverity.Name(rule.spec.severity) == f"ALARM_SEVERITY_{default['severity'].upper()}"
    assert pb.AlarmCondition.Name(rule.spec.condition) == f"ALARM_CONDITION_{default['condition'].upper()}"
    if default["condition"] != "equals":
        assert rule.spec.hysteresis == pytest.approx(max(abs(default["threshold"]) * 0.02, 0.01))
