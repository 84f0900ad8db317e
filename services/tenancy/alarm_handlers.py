"""gRPC ⇄ domain translation for AlarmService; the rules live in `alarm_rules` and `alarms`."""

from __future__ import annotations

from services.runtime.principal import current_principal
from services.tenancy import alarm_models as models
from services.tenancy.alarm_rules import AlarmRules
from services.tenancy.alarms import Alarms, Condition
from services.tenancy.handlers import ns
from sfcloud.v1 import alarms_pb2 as pb
from sfcloud.v1 import alarms_pb2_grpc

KIND_PB = {kind: i + 1 for i, kind in enumerate(models.KINDS)}
SEVERITY_PB = {severity: i + 1 for i, severity in enumerate(models.SEVERITIES)}
CONDITION_PB = {condition: i + 1 for i, condition in enumerate(models.CONDITIONS)}
STATE_PB = {state: i + 1 for i, state in enumerate(models.STATES)}
ENDPOINT_PB = {kind: i + 1 for i, kind in enumerate(models.ENDPOINT_KINDS)}


def _name(table: dict[str, int], number: int) -> str:
    """The name of an enum value; an unknown or unspecified one as '' (refused by the domain)."""
    return next((name for name, n in table.items() if n == number), "")


def spec_of(spec: pb.AlarmRuleSpec) -> models.RuleSpec:
    return models.RuleSpec(
        spec.name,
        _name(SEVERITY_PB, spec.severity),
        _name(CONDITION_PB, spec.condition) or None,
        spec.threshold,
        spec.hysteresis,
        spec.rate_unit_ns or models.SECOND_NS,
        spec.window_ns,
        spec.enabled,
    )


def rule_pb(rule: models.Rule) -> pb.AlarmRule:
    spec = pb.AlarmRuleSpec(
        name=rule.name,
        severity=SEVERITY_PB[rule.severity],
        condition=CONDITION_PB.get(rule.condition or "", 0),
        threshold=rule.threshold,
        hysteresis=rule.hysteresis,
        rate_unit_ns=rule.rate_unit_ns,
        window_ns=rule.window_ns,
        enabled=rule.enabled,
    )
    return pb.AlarmRule(
        id=str(rule.id),
        kind=KIND_PB[rule.kind],
        series_id=str(rule.series_id or ""),
        device_id=str(rule.device_id or ""),
        spec=spec,
        flapping=rule.flapping,
        template=rule.template or "",
        created_ns=ns(rule.created_at),
        updated_ns=ns(rule.updated_at),
    )


def alarm_pb(a: models.Alarm) -> pb.Alarm:
    return pb.Alarm(
        id=str(a.id),
        rule_id=str(a.rule_id),
        rule_name=a.rule_name,
        kind=KIND_PB.get(a.kind, 0),
        severity=SEVERITY_PB[a.severity],
        state=STATE_PB[a.state],
        series_id=str(a.series_id or ""),
        device_id=str(a.device_id or ""),
        raised_ns=a.raised_ns,
        value=a.value,
        detail=a.detail,
        acknowledged_ns=a.acknowledged_ns or 0,
        acknowledged_by=a.acknowledged_by or "",
        cleared_ns=a.cleared_ns or 0,
        cleared_by=a.cleared_by or "",
        held=a.held,
    )


def endpoint_pb(e: models.Endpoint) -> pb.AlarmEndpoint:
    return pb.AlarmEndpoint(
        id=str(e.id),
        kind=ENDPOINT_PB[e.kind],
        target=e.target,
        min_severity=SEVERITY_PB[e.min_severity],
        created_ns=ns(e.created_at),
    )


def transition_pb(t: models.Transition) -> pb.AlarmTransition:
    deliveries = [
        pb.AlarmDelivery(
            id=str(d.id),
            endpoint_id=str(d.endpoint_id),
            kind=ENDPOINT_PB[d.kind],
            target=d.target,
            secret=d.secret,
        )
        for d in t.deliveries
    ]
    return pb.AlarmTransition(alarm=alarm_pb(t.alarm), event=t.event, deliveries=deliveries)


class AlarmHandlers(alarms_pb2_grpc.AlarmServiceServicer):
    def __init__(self, rules: AlarmRules, alarms: Alarms) -> None:
        self._rules = rules
        self._alarms = alarms

    async def CreateAlarmRule(self, request, context) -> pb.CreateAlarmRuleResponse:
        rule = await self._rules.create(
            current_principal(),
            _name(KIND_PB, request.kind),
            request.series_id,
            request.device_id,
            spec_of(request.spec),
        )
        return pb.CreateAlarmRuleResponse(rule=rule_pb(rule))

    async def UpdateAlarmRule(self, request, context) -> pb.UpdateAlarmRuleResponse:
        rule = await self._rules.update(current_principal(), request.rule_id, spec_of(request.spec))
        return pb.UpdateAlarmRuleResponse(rule=rule_pb(rule))

    async def DeleteAlarmRule(self, request, context) -> pb.DeleteAlarmRuleResponse:
        await self._rules.delete(current_principal(), request.rule_id)
        return pb.DeleteAlarmRuleResponse()

    async def ListAlarmRules(self, request, context) -> pb.ListAlarmRulesResponse:
        return pb.ListAlarmRulesResponse(
            rules=[rule_pb(r) for r in await self._rules.list(current_principal())]
        )

    async def CreateAlarmEndpoint(self, request, context) -> pb.CreateAlarmEndpointResponse:
        endpoint, secret = await self._rules.create_endpoint(
            current_principal(),
            _name(ENDPOINT_PB, request.kind),
            request.target,
            _name(SEVERITY_PB, request.min_severity) or "info",
        )
        return pb.CreateAlarmEndpointResponse(endpoint=endpoint_pb(endpoint), secret=secret)

    async def DeleteAlarmEndpoint(self, request, context) -> pb.DeleteAlarmEndpointResponse:
        await self._rules.delete_endpoint(current_principal(), request.endpoint_id)
        return pb.DeleteAlarmEndpointResponse()

    async def ListAlarmEndpoints(self, request, context) -> pb.ListAlarmEndpointsResponse:
        found = await self._rules.endpoints(current_principal())
        return pb.ListAlarmEndpointsResponse(endpoints=[endpoint_pb(e) for e in found])

    async def ListAlarms(self, request, context) -> pb.ListAlarmsResponse:
        states = [_name(STATE_PB, s) for s in request.states]
        severities = [_name(SEVERITY_PB, s) for s in request.severities]
        found, token = await self._alarms.list(
            current_principal(), states, severities, request.limit, request.page_token
        )
        return pb.ListAlarmsResponse(alarms=[alarm_pb(a) for a in found], next_page_token=token)

    async def GetAlarm(self, request, context) -> pb.GetAlarmResponse:
        alarm, events = await self._alarms.get(current_principal(), request.alarm_id)
        return pb.GetAlarmResponse(
            alarm=alarm_pb(alarm),
            events=[
                pb.AlarmEvent(at_ns=e.at_ns, action=e.action, actor=e.actor, comment=e.comment, value=e.value)
                for e in events
            ],
        )

    async def AcknowledgeAlarm(self, request, context) -> pb.AcknowledgeAlarmResponse:
        alarm = await self._alarms.acknowledge(current_principal(), request.alarm_id, request.comment)
        return pb.AcknowledgeAlarmResponse(alarm=alarm_pb(alarm))

    async def ClearAlarm(self, request, context) -> pb.ClearAlarmResponse:
        alarm = await self._alarms.clear(current_principal(), request.alarm_id, request.comment)
        return pb.ClearAlarmResponse(alarm=alarm_pb(alarm))

    async def CommentAlarm(self, request, context) -> pb.CommentAlarmResponse:
        alarm = await self._alarms.comment(current_principal(), request.alarm_id, request.comment)
        return pb.CommentAlarmResponse(alarm=alarm_pb(alarm))

    async def ReportAlarmCondition(self, request, context) -> pb.ReportAlarmConditionResponse:
        condition = Condition(
            request.rule_id,
            request.series_id,
            _name(KIND_PB, request.kind),
            request.time_ns,
            request.active,
            request.value,
            request.detail,
        )
        found = await self._alarms.report(current_principal(), condition)
        return pb.ReportAlarmConditionResponse(transitions=[transition_pb(t) for t in found])

    async def RecordAlarmDelivery(self, request, context) -> pb.RecordAlarmDeliveryResponse:
        await self._alarms.record_delivery(
            current_principal(), request.delivery_id, request.delivered, request.attempts, request.error
        )
        return pb.RecordAlarmDeliveryResponse()

    async def SendAlarmEmail(self, request, context) -> pb.SendAlarmEmailResponse:
        await self._alarms.send_email(current_principal(), request.delivery_id)
        return pb.SendAlarmEmailResponse()

    async def ClaimAbandonedAlarmDeliveries(
        self, request, context
    ) -> pb.ClaimAbandonedAlarmDeliveriesResponse:
        found = await self._alarms.claim_abandoned(current_principal(), request.older_than_s)
        return pb.ClaimAbandonedAlarmDeliveriesResponse(transitions=[transition_pb(t) for t in found])
