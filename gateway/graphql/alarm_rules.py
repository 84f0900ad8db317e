"""The tenant's alarm rules and notification endpoints: read by its readers (endpoints by its managers),
made, changed and deleted by its owners and admins (tenancy checks the roles), with typed user errors."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from gateway.graphql.alarm_types import (
    AlarmCondition,
    AlarmEndpoint,
    AlarmEndpointKind,
    AlarmRule,
    AlarmRuleKind,
    AlarmSeverity,
    RateUnit,
)
from gateway.graphql.payloads import DeletePayload, UserError, attempt
from gateway.graphql.permissions import CanReadTenant, IsSignedIn, IsTenantUser
from gateway.graphql.scalars import Duration
from sfcloud.v1 import alarms_pb2 as pb


@strawberry.input(description="A rule's settings; which of them count depends on the rule's kind.")
class AlarmRuleSettings:
    name: str
    severity: AlarmSeverity
    condition: AlarmCondition | None = strawberry.field(
        default=None, description="Threshold rules: above, below or equals; rate rules: above or below."
    )
    threshold: float = strawberry.field(default=0.0, description="The value, or the rate per rateUnit.")
    hysteresis: float = strawberry.field(
        default=0.0, description="How far back past the threshold a value must go to clear (0 or more)."
    )
    rate_unit: RateUnit = RateUnit.PER_SECOND
    window: Duration | None = strawberry.field(
        default=None, description="Rate rules: the window (1s to 1d); no-data rules: the silence (10s to 7d)."
    )
    enabled: bool = True

    def to_pb(self) -> pb.AlarmRuleSpec:
        return pb.AlarmRuleSpec(
            name=self.name,
            severity=self.severity.value,
            condition=self.condition.value if self.condition else 0,
            threshold=self.threshold,
            hysteresis=self.hysteresis,
            rate_unit_ns=self.rate_unit.value,
            window_ns=self.window or 0,
            enabled=self.enabled,
        )


@strawberry.type(description="A rule after it was made or changed, or why it was refused.")
class AlarmRulePayload:
    rule: AlarmRule | None = strawberry.field(description="Null when it was refused.")
    errors: list[UserError] = strawberry.field(
        description="Empty when done; NOT_FOUND codes for a series, device or rule that is not the tenant's."
    )


@strawberry.type(description="A new endpoint and, for a webhook, its signing secret (shown only here).")
class CreateAlarmEndpointPayload:
    endpoint: AlarmEndpoint | None
    secret: str | None = strawberry.field(description="Sign-check webhooks with it; store it now.")
    errors: list[UserError]


async def _call(info: Info, method: str, request):
    """(answer, []) or (None, user errors), the rule's settings named as this API names them."""
    ctx = info.context
    done, problems = await attempt(
        ctx.backends.call(getattr(ctx.backends.alarms, method), request, ctx.principal)
    )
    for problem in problems:
        if problem.field and problem.field.startswith("spec."):
            problem.field = "settings." + _SETTING.get(problem.field[5:], problem.field[5:])
    return done, problems


_SETTING = {"rateUnitNs": "rateUnit", "windowNs": "window"}


@strawberry.type
class AlarmRuleQuery:
    @strawberry.field(permission_classes=[IsSignedIn, CanReadTenant], description="The tenant's alarm rules.")
    async def alarm_rules(self, info: Info) -> list[AlarmRule]:
        ctx = info.context
        response = await ctx.backends.call(
            ctx.backends.alarms.ListAlarmRules, pb.ListAlarmRulesRequest(), ctx.principal
        )
        return [AlarmRule.from_pb(r) for r in response.rules]

    @strawberry.field(
        permission_classes=[IsTenantUser], description="Where alarms are sent (owners and admins)."
    )
    async def alarm_endpoints(self, info: Info) -> list[AlarmEndpoint]:
        ctx = info.context
        request = pb.ListAlarmEndpointsRequest()
        response = await ctx.backends.call(ctx.backends.alarms.ListAlarmEndpoints, request, ctx.principal)
        return [AlarmEndpoint.from_pb(e) for e in response.endpoints]


@strawberry.type
class AlarmRuleMutation:
    @strawberry.mutation(
        permission_classes=[IsTenantUser],
        description="Make a rule on one of the tenant's series (or, for NO_DATA, devices): owners and admins.",
    )
    async def create_alarm_rule(
        self,
        info: Info,
        kind: AlarmRuleKind,
        settings: AlarmRuleSettings,
        series_id: strawberry.ID | None = None,
        device_id: strawberry.ID | None = None,
    ) -> AlarmRulePayload:
        request = pb.CreateAlarmRuleRequest(
            kind=kind.value,
            series_id=str(series_id or ""),
            device_id=str(device_id or ""),
            spec=settings.to_pb(),
        )
        made, problems = await _call(info, "CreateAlarmRule", request)
        return AlarmRulePayload(rule=AlarmRule.from_pb(made.rule) if made else None, errors=problems)

    @strawberry.mutation(permission_classes=[IsTenantUser], description="Change a rule's settings.")
    async def update_alarm_rule(
        self, info: Info, id: strawberry.ID, settings: AlarmRuleSettings
    ) -> AlarmRulePayload:
        request = pb.UpdateAlarmRuleRequest(rule_id=str(id), spec=settings.to_pb())
        done, problems = await _call(info, "UpdateAlarmRule", request)
        return AlarmRulePayload(rule=AlarmRule.from_pb(done.rule) if done else None, errors=problems)

    @strawberry.mutation(
        permission_classes=[IsTenantUser], description="Delete a rule; the alarms it raised stay."
    )
    async def delete_alarm_rule(self, info: Info, id: strawberry.ID) -> DeletePayload:
        done, problems = await _call(info, "DeleteAlarmRule", pb.DeleteAlarmRuleRequest(rule_id=str(id)))
        return DeletePayload(deleted=done is not None, errors=problems)

    @strawberry.mutation(
        permission_classes=[IsTenantUser],
        description="Send alarms of at least `minSeverity` to a webhook (signed) or an email address.",
    )
    async def create_alarm_endpoint(
        self,
        info: Info,
        kind: AlarmEndpointKind,
        target: str,
        min_severity: AlarmSeverity = AlarmSeverity.INFO,
    ) -> CreateAlarmEndpointPayload:
        request = pb.CreateAlarmEndpointRequest(
            kind=kind.value, target=target, min_severity=min_severity.value
        )
        made, problems = await _call(info, "CreateAlarmEndpoint", request)
        if made is None:
            return CreateAlarmEndpointPayload(endpoint=None, secret=None, errors=problems)
        return CreateAlarmEndpointPayload(
            endpoint=AlarmEndpoint.from_pb(made.endpoint), secret=made.secret or None, errors=[]
        )

    @strawberry.mutation(permission_classes=[IsTenantUser], description="Stop sending alarms to an endpoint.")
    async def delete_alarm_endpoint(self, info: Info, id: strawberry.ID) -> DeletePayload:
        done, problems = await _call(
            info, "DeleteAlarmEndpoint", pb.DeleteAlarmEndpointRequest(endpoint_id=str(id))
        )
        return DeletePayload(deleted=done is not None, errors=problems)
