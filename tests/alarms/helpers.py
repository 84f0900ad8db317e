"""Speaking to tenancy's AlarmService as any principal, and the rule specs the alarm tests use."""

from __future__ import annotations

import asyncio
import time
import uuid

import grpc

from services.runtime.principal import Kind, Principal, Role
from services.runtime.tokens import TokenSigner, service_principal
from sfcloud.v1 import alarms_pb2 as pb
from sfcloud.v1 import alarms_pb2_grpc, ingest_pb2
from tests.control_plane import Tenancy
from tests.e2e.provision import send_batches

S = 1_000_000_000


def alarm_api(channel, signer: TokenSigner) -> Tenancy:
    """AlarmService (served by tenancy), callable as any principal, like the tenancy tests' client."""
    return Tenancy(alarms_pb2_grpc.AlarmServiceStub(channel), signer)


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


async def raise_alarms(stack, signer: TokenSigner, tenant, count: int) -> None:
    """``count`` raised alarms of the tenant, one rule each on its first series, as the worker reports them."""
    owner = Principal(Kind.USER, "owner", tenant_id=tenant.id, role=Role.OWNER)
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
        alarms = alarm_api(channel, signer)
        for n in range(count):
            rule = (
                await alarms.call("CreateAlarmRule", threshold_rule(tenant.series_ids[0], above(n)), owner)
            ).rule
            report = pb.ReportAlarmConditionRequest(
                rule_id=rule.id, kind=pb.ALARM_RULE_KIND_THRESHOLD, time_ns=time.time_ns(), active=True
            )
            await alarms.call("ReportAlarmCondition", report, service_principal("worker", tenant.id))


class Device:
    """A device sending points of one series through ingest, one batch per call, a second apart."""

    def __init__(self, stack, tenant, series_id: str) -> None:
        self._target, self._credential, self._series = stack.targets["ingest"], tenant.credential, series_id
        self._session, self._batch_no = uuid.uuid4().hex, 0
        self.t_ns = time.time_ns() - 3600 * S  # ahead of the rule's creation below, then ever later

    def start_after(self, rule: pb.AlarmRule) -> None:
        self.t_ns = max(self.t_ns, rule.created_ns)

    async def send(self, *values: float) -> None:
        for value in values:
            self._batch_no += 1
            self.t_ns += S // 1000  # a millisecond apart: well inside the flapping window, never ahead of now
            request = ingest_pb2.IngestRequest(
                batch_no=self._batch_no,
                session_id=self._session,
                series=[
                    ingest_pb2.SeriesPoints(series_id=self._series, timestamps_ns=[self.t_ns], values=[value])
                ],
            )
            await send_batches(self._target, self._credential, [request])


async def eventually(check, timeout_s: float = 20.0):
    deadline = time.monotonic() + timeout_s
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not come true in time")
        await asyncio.sleep(0.1)
