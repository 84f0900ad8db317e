"""Alarms end to end (issue 8's Done-when): real points through ingest raise an alarm in the worker, which
notifies a real local webhook receiver (signature verified) and, through tenancy, a real local SMTP
server; the alarm is acknowledged and cleared; a flapping rule's notifications are held; a receiver that
fails twice gets the same delivery a third time after backing off; a silent device raises a no-data alarm."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid

import grpc
import pytest

from services.runtime.principal import Kind, Principal, Role
from services.runtime.tokens import METADATA_KEY, service_principal
from sfcloud.v1 import alarms_pb2 as pb
from sfcloud.v1 import tenancy_pb2, tenancy_pb2_grpc
from tests.alarms.conftest import ABANDONED_S, ATTEMPTS, RETRY_BASE_S
from tests.alarms.helpers import Device, S, above, alarm_api, eventually, threshold_rule
from tests.alarms.receiver import WebhookReceiver
from tests.e2e.provision import create_tenant


@pytest.fixture
async def alarms(alarm_stack, signer):
    async with grpc.aio.insecure_channel(alarm_stack) as channel:
        yield alarm_api(channel, signer)


@pytest.fixture
async def receiver():
    running = await WebhookReceiver().start()
    yield running
    await running.stop()


def owner_of(tenant) -> Principal:
    return Principal(Kind.USER, str(uuid.uuid4()), tenant_id=tenant.id, role=Role.OWNER)


def mails_to(inbox, address: str) -> list:
    return [m for m in inbox.messages if m["To"] == address]


async def test_raise_notify_acknowledge_clear_and_flapping(
    stack, signer, alarms, receiver, inbox, admin_conn
):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "alarms e2e")
    owner, series = owner_of(tenant), tenant.series_ids[0]
    hook = pb.CreateAlarmEndpointRequest(kind=pb.ALARM_ENDPOINT_KIND_WEBHOOK, target=receiver.url)
    secret = (await alarms.call("CreateAlarmEndpoint", hook, owner)).secret
    address = f"alarms-{uuid.uuid4().hex[:8]}@factory.example"
    mail = pb.CreateAlarmEndpointRequest(
        kind=pb.ALARM_ENDPOINT_KIND_EMAIL, target=address, min_severity=pb.ALARM_SEVERITY_WARNING
    )
    await alarms.call("CreateAlarmEndpoint", mail, owner)
    rule = (
        await alarms.call(
            "CreateAlarmRule", threshold_rule(series, above(80, 5, name="Barrel too hot")), owner
        )
    ).rule
    device = Device(stack, tenant, series)
    device.start_after(rule)

    # Real points through ingest: 85 raises (80 is the threshold), 78 stays raised (hysteresis 5).
    await device.send(70, 75)
    sent_at = time.monotonic()
    await device.send(85, 82, 78)
    (raised,) = await receiver.wait_for(1)
    # Stored point to webhook: the live feed, a 0.1 s tick here (0.25 s by default), read, report, post.
    assert raised.at - sent_at < 2.0, raised.at - sent_at
    print(f"ingest -> webhook latency {1000 * (raised.at - sent_at):.0f} ms")
    assert raised.verified(secret), "the signature must verify with the endpoint's secret"
    assert not raised.verified("whsec_wrong")
    body = raised.json
    assert (body["event"], body["alarm"]["rule_name"], body["alarm"]["value"]) == (
        "raised",
        "Barrel too hot",
        85.0,
    )
    assert body["alarm"]["severity"] == "critical" and body["tenant_id"] == str(tenant.id)
    assert abs(int(raised.headers["x-sfcloud-timestamp"]) - time.time()) < 60
    alarm_id = body["alarm"]["id"]
    (email,) = await eventually(lambda: asyncio.sleep(0, mails_to(inbox, address)))
    assert email["Subject"] == "[sfcloud critical] Barrel too hot: raised"
    assert alarm_id in email.get_payload()

    # Acknowledged by an operator, then cleared by the data (74 <= 80 - 5): one more webhook and email.
    operator = Principal(Kind.USER, str(uuid.uuid4()), tenant_id=tenant.id, role=Role.OPERATOR)
    ack = pb.AcknowledgeAlarmRequest(alarm_id=alarm_id, comment="checking the heater band")
    assert (await alarms.call("AcknowledgeAlarm", ack, operator)).alarm.state == pb.ALARM_STATE_ACKNOWLEDGED
    await device.send(76, 74)
    cleared = (await receiver.wait_for(2))[1]
    assert cleared.verified(secret) and cleared.json["event"] == "cleared"
    assert cleared.json["alarm"]["id"] == alarm_id and cleared.json["alarm"]["state"] == "cleared"
    await eventually(lambda: asyncio.sleep(0, len(mails_to(inbox, address)) == 2))
    history = await alarms.call("GetAlarm", pb.GetAlarmRequest(alarm_id=alarm_id), owner)
    assert [e.action for e in history.events] == ["raised", "acknowledged", "cleared"]
    assert history.alarm.acknowledged_by == f"user:{operator.subject}"

    # Flapping: the value swings across the band ten times within the window. The rule has changed
    # twice already; notifications go out up to 5 changes in 10 minutes, the rest are held.
    await device.send(*[90, 70] * 5)

    async def settled():
        found = await alarms.call("ListAlarms", pb.ListAlarmsRequest(limit=50), owner)
        return (
            found.alarms
            if len(found.alarms) == 6 and found.alarms[0].state == pb.ALARM_STATE_CLEARED
            else None
        )

    listed = await eventually(settled)
    await asyncio.sleep(1.0)  # time for any notification that should not come
    assert [r.json["event"] for r in receiver.requests] == [
        "raised",
        "cleared",
        "raised",
        "cleared",
        "raised",
    ]
    assert [a.held for a in reversed(listed)] == [False, False, False, True, True, True]
    rules = (await alarms.call("ListAlarmRules", pb.ListAlarmRulesRequest(), owner)).rules
    assert [r.flapping for r in rules] == [True]
    statuses = admin_conn.execute(
        "SELECT status, count(*) FROM tenancy.alarm_deliveries WHERE tenant_id = %s GROUP BY status ORDER BY status",
        [tenant.id],
    ).fetchall()
    assert statuses == [("delivered", 10), ("held", 14)]  # 5 changes x 2 endpoints sent; 7 x 2 held


async def raise_once(stack, signer, alarms, receiver: WebhookReceiver, name: str) -> tuple[uuid.UUID, str]:
    """A new tenant with a webhook to ``receiver`` and a rule that one point raises: (tenant, secret)."""
    tenant = await create_tenant(stack.targets["tenancy"], signer, name)
    owner = owner_of(tenant)
    hook = pb.CreateAlarmEndpointRequest(kind=pb.ALARM_ENDPOINT_KIND_WEBHOOK, target=receiver.url)
    secret = (await alarms.call("CreateAlarmEndpoint", hook, owner)).secret
    rule_request = threshold_rule(tenant.series_ids[0], above(10))
    device = Device(stack, tenant, tenant.series_ids[0])
    device.start_after((await alarms.call("CreateAlarmRule", rule_request, owner)).rule)
    await device.send(11)
    return tenant.id, secret


async def delivery_outcome(admin_conn, tenant_id: uuid.UUID) -> tuple:
    """(status, tries, last error) of the tenant's one delivery, once it is no longer pending."""

    async def recorded():
        row = admin_conn.execute(
            "SELECT status, attempts, last_error FROM tenancy.alarm_deliveries WHERE tenant_id = %s",
            [tenant_id],
        ).fetchone()
        return row if row and row[0] != "pending" else None

    return await eventually(recorded)


async def test_a_webhook_that_fails_twice_gets_the_third_try_after_backing_off(
    stack, signer, alarms, admin_conn
):
    receiver = await WebhookReceiver(fail_first=2).start()
    try:
        tenant_id, secret = await raise_once(stack, signer, alarms, receiver, "alarms retry")
        tries = await receiver.wait_for(3)
        await asyncio.sleep(3 * RETRY_BASE_S)
        assert [r.status for r in receiver.requests] == [500, 500, 200]
        assert len({r.headers["x-sfcloud-delivery"] for r in tries}) == 1  # the same delivery each time
        assert all(r.verified(secret) for r in tries)  # each try signed anew, over its own timestamp
        gaps = [b.at - a.at for a, b in itertools.pairwise(tries)]
        assert gaps[0] >= RETRY_BASE_S and gaps[1] >= 2 * RETRY_BASE_S, gaps
        assert await delivery_outcome(admin_conn, tenant_id) == ("delivered", 3, "")
    finally:
        await receiver.stop()


async def test_a_receiver_that_never_answers_well_is_given_up_and_recorded(stack, signer, alarms, admin_conn):
    receiver = await WebhookReceiver(fail_first=1000).start()
    try:
        tenant_id, _ = await raise_once(stack, signer, alarms, receiver, "alarms give up")
        assert await delivery_outcome(admin_conn, tenant_id) == ("failed", ATTEMPTS, "HTTP 500")
        assert len(receiver.requests) == ATTEMPTS
    finally:
        await receiver.stop()


async def test_a_delivery_whose_worker_stopped_is_taken_over(stack, signer, alarms, admin_conn):
    """A change recorded in tenancy whose worker stopped before notifying (the change is reported here
    as the worker would, and nobody delivers it): the periodic pass claims the pending delivery once it
    is abandoned and delivers it under the same id."""
    receiver = await WebhookReceiver().start()
    try:
        tenant = await create_tenant(stack.targets["tenancy"], signer, "alarms abandoned")
        owner = owner_of(tenant)
        hook = pb.CreateAlarmEndpointRequest(kind=pb.ALARM_ENDPOINT_KIND_WEBHOOK, target=receiver.url)
        secret = (await alarms.call("CreateAlarmEndpoint", hook, owner)).secret
        rule = (
            await alarms.call("CreateAlarmRule", threshold_rule(tenant.series_ids[0], above(1e9)), owner)
        ).rule
        report = pb.ReportAlarmConditionRequest(
            rule_id=rule.id, kind=pb.ALARM_RULE_KIND_THRESHOLD, time_ns=time.time_ns(), active=True, value=2e9
        )
        worker = service_principal("worker", tenant.id)
        (change,) = (await alarms.call("ReportAlarmCondition", report, worker)).transitions
        started = time.monotonic()
        (delivered,) = await receiver.wait_for(1, timeout_s=30)
        assert delivered.at - started >= ABANDONED_S - 1  # not before it was abandoned
        assert delivered.headers["x-sfcloud-delivery"] == change.deliveries[0].id
        assert delivered.verified(secret) and delivered.json["alarm"]["id"] == change.alarm.id
        assert await delivery_outcome(admin_conn, tenant.id) == ("delivered", 1, "")
        await asyncio.sleep(ABANDONED_S + 1.5)  # delivered: nobody claims it again
        assert len(receiver.requests) == 1
    finally:
        await receiver.stop()


async def test_a_silent_device_raises_no_data_and_clears_when_it_sends(stack, signer, alarms):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "alarms no data")
    owner = owner_of(tenant)
    device = Device(stack, tenant, tenant.series_ids[0])
    await device.send(1.0)
    listed = await _devices(stack, signer, tenant)
    spec = pb.AlarmRuleSpec(
        name="edge silent", severity=pb.ALARM_SEVERITY_WARNING, window_ns=10 * S, enabled=True
    )
    request = pb.CreateAlarmRuleRequest(kind=pb.ALARM_RULE_KIND_NO_DATA, device_id=listed[0], spec=spec)
    await alarms.call("CreateAlarmRule", request, owner)

    async def state():
        found = (await alarms.call("ListAlarms", pb.ListAlarmsRequest(), owner)).alarms
        return found[0] if found else None

    raised = await eventually(state, timeout_s=30)
    assert raised.state == pb.ALARM_STATE_RAISED and raised.value > 10
    await device.send(2.0)

    async def cleared():
        alarm = await state()
        return alarm if alarm.state == pb.ALARM_STATE_CLEARED else None

    assert (await eventually(cleared)).id == raised.id


async def _devices(stack, signer, tenant) -> list[str]:
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
        stub = tenancy_pb2_grpc.TenancyServiceStub(channel)
        metadata = ((METADATA_KEY, signer.sign(owner_of(tenant))),)
        answer = await stub.ListDevices(tenancy_pb2.ListDevicesRequest(), metadata=metadata, timeout=10)
    return [d.id for d in answer.devices]
