"""Speaking to tenancy's AlarmService as any principal, and the rule specs the alarm tests use."""

from __future__ import annotations

from dataclasses import dataclass

from services.runtime.principal import Principal
from services.runtime.tokens import METADATA_KEY, TokenSigner
from sfcloud.v1 import alarms_pb2 as pb
from sfcloud.v1 import alarms_pb2_grpc

S = 1_000_000_000


@dataclass
class AlarmApi:
    stub: alarms_pb2_grpc.AlarmServiceStub
    signer: TokenSigner

    def call(self, method: str, request, principal: Principal):
        metadata = ((METADATA_KEY, self.signer.sign(principal)),)
        return getattr(self.stub, method)(request, metadata=metadata, timeout=10)


def above(
    threshold: float, hysteresis: float = 0.0, name: str = "hot", severity: int = pb.ALARM_SEVERITY_CRITICAL
):
    return pb.AlarmRuleSpec(
        name=name,
        severity=severity,
        condition=pb.ALARM_CONDITION_ABOVE,
        threshold=threshold,
        hysteresis=hysteresis,
        enabled=True,
    )


def threshold_rule(series_id: str, spec: pb.AlarmRuleSpec) -> pb.CreateAlarmRuleRequest:
    return pb.CreateAlarmRuleRequest(kind=pb.ALARM_RULE_KIND_THRESHOLD, series_id=series_id, spec=spec)
