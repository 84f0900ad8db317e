"""The GraphQL types of alarms (docs/ANALYTICS.md, "Alarms"), shared by the alarm and rule modules."""

from __future__ import annotations

import enum

import strawberry

from gateway.graphql.scalars import Duration, Timestamp
from sfcloud.v1 import alarms_pb2 as pb


@strawberry.enum(description="How urgent an alarm is.")
class AlarmSeverity(enum.Enum):
    INFO = pb.ALARM_SEVERITY_INFO
    WARNING = pb.ALARM_SEVERITY_WARNING
    CRITICAL = pb.ALARM_SEVERITY_CRITICAL


@strawberry.enum(description="Where an alarm is in its lifecycle: raised → acknowledged → cleared.")
class AlarmState(enum.Enum):
    RAISED = pb.ALARM_STATE_RAISED
    ACKNOWLEDGED = pb.ALARM_STATE_ACKNOWLEDGED
    CLEARED = pb.ALARM_STATE_CLEARED


@strawberry.enum(description="What a rule watches.")
class AlarmRuleKind(enum.Enum):
    THRESHOLD = strawberry.enum_value(
        pb.ALARM_RULE_KIND_THRESHOLD, description="A value against a threshold."
    )
    RATE_OF_CHANGE = strawberry.enum_value(
        pb.ALARM_RULE_KIND_RATE_OF_CHANGE, description="The change per second or minute over a window."
    )
    NO_DATA = strawberry.enum_value(pb.ALARM_RULE_KIND_NO_DATA, description="A device silent for a time.")
    SPC_VIOLATION = strawberry.enum_value(
        pb.ALARM_RULE_KIND_SPC_VIOLATION, description="An SPC rule violation on the series."
    )
    ANOMALY = strawberry.enum_value(pb.ALARM_RULE_KIND_ANOMALY, description="An anomaly naming the series.")


@strawberry.enum(description="When a threshold or rate rule raises.")
class AlarmCondition(enum.Enum):
    ABOVE = strawberry.enum_value(
        pb.ALARM_CONDITION_ABOVE, description="Over the threshold; cleared at threshold - hysteresis."
    )
    BELOW = strawberry.enum_value(
        pb.ALARM_CONDITION_BELOW, description="Under the threshold; cleared at threshold + hysteresis."
    )
    EQUALS = strawberry.enum_value(pb.ALARM_CONDITION_EQUALS, description="Equal to it (machine states).")


@strawberry.enum(description="The time unit of a rate.")
class RateUnit(enum.Enum):
    PER_SECOND = 1_000_000_000
    PER_MINUTE = 60_000_000_000


@strawberry.enum(description="Where notifications go.")
class AlarmEndpointKind(enum.Enum):
    WEBHOOK = pb.ALARM_ENDPOINT_KIND_WEBHOOK
    EMAIL = pb.ALARM_ENDPOINT_KIND_EMAIL


@strawberry.type(description="An alarm a rule raised.")
class Alarm:
    id: strawberry.ID
    rule_id: strawberry.ID = strawberry.field(
        description="The rule that raised it (it may since be deleted)."
    )
    rule_name: str
    kind: AlarmRuleKind
    severity: AlarmSeverity
    state: AlarmState
    series_id: strawberry.ID | None = strawberry.field(description="The series, for series rules.")
    device_id: strawberry.ID | None = strawberry.field(description="The device, for no-data rules.")
    raised_at: Timestamp = strawberry.field(description="The time of the point that raised it.")
    value: float = strawberry.field(description="The value that raised it (the rate; seconds of silence).")
    detail: str = strawberry.field(description="What the engine that raised it said (SPC rule, anomaly).")
    acknowledged_at: Timestamp | None
    acknowledged_by: str | None = strawberry.field(description='Who acknowledged it: "user:<id>".')
    cleared_at: Timestamp | None
    cleared_by: str | None = strawberry.field(
        description='"service:worker" when the data cleared it, "user:<id>" when a person did.'
    )
    held: bool = strawberry.field(description="True when it was raised while its rule flapped: not notified.")

    @classmethod
    def from_pb(cls, a: pb.Alarm) -> Alarm:
        return cls(
            id=strawberry.ID(a.id),
            rule_id=strawberry.ID(a.rule_id),
            rule_name=a.rule_name,
            kind=AlarmRuleKind(a.kind),
            severity=AlarmSeverity(a.severity),
            state=AlarmState(a.state),
            series_id=strawberry.ID(a.series_id) if a.series_id else None,
            device_id=strawberry.ID(a.device_id) if a.device_id else None,
            raised_at=a.raised_ns,
            value=a.value,
            detail=a.detail,
            acknowledged_at=a.acknowledged_ns or None,
            acknowledged_by=a.acknowledged_by or None,
            cleared_at=a.cleared_ns or None,
            cleared_by=a.cleared_by or None,
            held=a.held,
        )


@strawberry.type(description="One thing that happened to an alarm.")
class AlarmEvent:
    at: Timestamp
    action: str = strawberry.field(description="raised, acknowledged, cleared or commented.")
    actor: str = strawberry.field(description='"user:<id>", "api_key:<id>" or "service:<name>".')
    comment: str


@strawberry.type(description="An alarm with its history.")
class AlarmDetail:
    alarm: Alarm
    history: list[AlarmEvent] = strawberry.field(description="Oldest first.")


@strawberry.type(description="A change to one of the tenant's alarms.")
class AlarmChange:
    event: str = strawberry.field(description="raised, acknowledged or cleared.")
    alarm: Alarm = strawberry.field(description="The alarm as it is now.")


@strawberry.type(description="A rule that raises alarms.")
class AlarmRule:
    id: strawberry.ID
    kind: AlarmRuleKind
    series_id: strawberry.ID | None
    device_id: strawberry.ID | None
    name: str
    severity: AlarmSeverity
    condition: AlarmCondition | None
    threshold: float
    hysteresis: float
    rate_unit: RateUnit
    window: Duration | None = strawberry.field(description="The rate's window, or the no-data silence.")
    enabled: bool
    flapping: bool = strawberry.field(
        description="True while it raises and clears too often: notifications held."
    )
    template: str | None = strawberry.field(description="The template machine type it came from.")
    created_at: Timestamp

    @classmethod
    def from_pb(cls, r: pb.AlarmRule) -> AlarmRule:
        s = r.spec
        return cls(
            id=strawberry.ID(r.id),
            kind=AlarmRuleKind(r.kind),
            series_id=strawberry.ID(r.series_id) if r.series_id else None,
            device_id=strawberry.ID(r.device_id) if r.device_id else None,
            name=s.name,
            severity=AlarmSeverity(s.severity),
            condition=AlarmCondition(s.condition) if s.condition else None,
            threshold=s.threshold,
            hysteresis=s.hysteresis,
            rate_unit=RateUnit(s.rate_unit_ns or RateUnit.PER_SECOND.value),
            window=s.window_ns or None,
            enabled=s.enabled,
            flapping=r.flapping,
            template=r.template or None,
            created_at=r.created_ns,
        )


@strawberry.type(description="Where the tenant's alarm notifications go.")
class AlarmEndpoint:
    id: strawberry.ID
    kind: AlarmEndpointKind
    target: str = strawberry.field(description="The webhook's URL or the email address.")
    min_severity: AlarmSeverity
    created_at: Timestamp

    @classmethod
    def from_pb(cls, e: pb.AlarmEndpoint) -> AlarmEndpoint:
        return cls(
            id=strawberry.ID(e.id),
            kind=AlarmEndpointKind(e.kind),
            target=e.target,
            min_severity=AlarmSeverity(e.min_severity),
            created_at=e.created_ns,
        )
