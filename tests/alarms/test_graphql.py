"""Alarms through the GraphQL API with a signed-in owner: rules with typed errors (another tenant's series
is NOT_FOUND), the list filtered by state and severity, acknowledge / comment / clear, and the `alarms`
subscription hearing raised, acknowledged and cleared alarms of the tenant, and none of another's."""

from __future__ import annotations

import asyncio
import time

from tests.alarms.helpers import Device
from tests.e2e.provision import GraphQLClient, create_tenant
from tests.e2e.test_live import next_message, open_socket

RULE = """
mutation ($series: ID!, $settings: AlarmRuleSettings!) {
  createAlarmRule(kind: THRESHOLD, seriesId: $series, settings: $settings) {
    rule { id name severity condition threshold hysteresis enabled flapping }
    errors { field code message }
  }
}"""
SUBSCRIBE = "subscription { alarms { event alarm { id ruleName state severity value } } }"
HOT = {
    "name": "Spindle hot",
    "severity": "WARNING",
    "condition": "ABOVE",
    "threshold": 60.0,
    "hysteresis": 2.0,
}


async def subscribe(ws) -> None:
    await ws.send('{"type": "connection_init"}')
    await next_message(ws, "connection_ack")
    await ws.send('{"id": "1", "type": "subscribe", "payload": {"query": "' + SUBSCRIBE + '"}}')


async def test_rules_alarms_and_the_subscription_through_graphql(stack, signer, alarm_stack):
    a = await create_tenant(stack.targets["tenancy"], signer, "GQL alarms A")
    b = await create_tenant(stack.targets["tenancy"], signer, "GQL alarms B")
    owner = await GraphQLClient.login(stack.gateway_url, a.owner_email, a.owner_password)
    other = await GraphQLClient.login(stack.gateway_url, b.owner_email, b.owner_password)
    ws_a, ws_b = await open_socket(stack, owner), await open_socket(stack, other)
    try:
        # Typed errors: bad settings name the field; another tenant's series is NOT_FOUND.
        bad = await owner.query(RULE, series=a.series_ids[0], settings=HOT | {"hysteresis": -1.0})
        assert bad["data"]["createAlarmRule"] == {
            "rule": None,
            "errors": [
                {
                    "field": "settings.hysteresis",
                    "code": "INVALID_ARGUMENT",
                    "message": "must be a finite number, 0 or more",
                }
            ],
        }
        foreign = await other.query(RULE, series=a.series_ids[0], settings=HOT)
        assert foreign["data"]["createAlarmRule"]["rule"] is None
        assert foreign["data"]["createAlarmRule"]["errors"][0]["code"] == "SERIES_NOT_FOUND"
        made = (await owner.query(RULE, series=a.series_ids[0], settings=HOT))["data"]["createAlarmRule"]
        assert (
            made["errors"] == []
            and made["rule"]["condition"] == "ABOVE"
            and made["rule"]["hysteresis"] == 2.0
        )
        rule_id = made["rule"]["id"]

        await subscribe(ws_a)
        await subscribe(ws_b)
        await asyncio.sleep(0.5)  # the subscriptions reach Redis (graphql-transport-ws has no subscribe ack)
        device = Device(stack, a, a.series_ids[0])
        device.t_ns = time.time_ns()  # after the rule was made: its points are evaluated
        await device.send(55, 61.5)
        raised = (await next_message(ws_a, "next"))["payload"]["data"]["alarms"]
        assert (raised["event"], raised["alarm"]["ruleName"], raised["alarm"]["value"]) == (
            "raised",
            "Spindle hot",
            61.5,
        )
        alarm_id = raised["alarm"]["id"]

        listed = await owner.query(
            "query ($s: [AlarmState!]) { alarms(states: $s, severities: [WARNING]) { id state } }",
            s=["RAISED"],
        )
        assert listed["data"]["alarms"] == [{"id": alarm_id, "state": "RAISED"}]
        ack = await owner.query(
            'mutation ($id: ID!) { acknowledgeAlarm(id: $id, comment: "on my way")'
            " { alarm { state acknowledgedBy } errors { code } } }",
            id=alarm_id,
        )
        assert ack["data"]["acknowledgeAlarm"]["alarm"]["state"] == "ACKNOWLEDGED"
        assert (await next_message(ws_a, "next"))["payload"]["data"]["alarms"]["event"] == "acknowledged"
        again = await owner.query(
            "mutation ($id: ID!) { acknowledgeAlarm(id: $id) { errors { code } } }", id=alarm_id
        )
        assert again["data"]["acknowledgeAlarm"]["errors"] == [{"code": "ALARM_ACKNOWLEDGED"}]
        await owner.query(
            'mutation ($id: ID!) { commentAlarm(id: $id, comment: "bearing") { errors { code } } }',
            id=alarm_id,
        )
        # B can neither act on A's alarm nor read it.
        theirs = await other.query(
            "mutation ($id: ID!) { clearAlarm(id: $id) { errors { code } } }", id=alarm_id
        )
        assert theirs["data"]["clearAlarm"]["errors"] == [{"code": "ALARM_NOT_FOUND"}]
        unseen = await other.query("query ($id: ID!) { alarm(id: $id) { alarm { id } } }", id=alarm_id)
        assert unseen["errors"][0]["extensions"]["code"] == "NOT_FOUND"

        await device.send(59.0, 57.5)  # 59 stays raised (hysteresis 2); 57.5 <= 60 - 2 clears it
        cleared = (await next_message(ws_a, "next"))["payload"]["data"]["alarms"]
        assert (cleared["event"], cleared["alarm"]["state"]) == ("cleared", "CLEARED")
        detail = await owner.query(
            "query ($id: ID!) { alarm(id: $id) { alarm { clearedBy } history { action comment } } }",
            id=alarm_id,
        )
        assert detail["data"]["alarm"]["alarm"]["clearedBy"] == "service:worker"
        assert [(h["action"], h["comment"]) for h in detail["data"]["alarm"]["history"]] == [
            ("raised", ""),
            ("acknowledged", "on my way"),
            ("commented", "bearing"),
            ("cleared", ""),
        ]
        rules = await owner.query("{ alarmRules { id flapping } }")
        assert rules["data"]["alarmRules"] == [{"id": rule_id, "flapping": False}]
        deleted = await owner.query(
            "mutation ($id: ID!) { deleteAlarmRule(id: $id) { deleted errors { code } } }", id=rule_id
        )
        assert deleted["data"]["deleteAlarmRule"] == {"deleted": True, "errors": []}
        # B's subscription heard nothing of A's alarm.
        try:
            heard = await asyncio.wait_for(ws_b.recv(), 0.5)
        except TimeoutError:
            heard = None
        assert heard is None
    finally:
        for ws in (ws_a, ws_b):
            await ws.close()
        await owner.close()
        await other.close()


async def test_endpoints_through_graphql_show_the_secret_once(stack, signer):
    a = await create_tenant(stack.targets["tenancy"], signer, "GQL alarm endpoints")
    owner = await GraphQLClient.login(stack.gateway_url, a.owner_email, a.owner_password)
    try:
        made = await owner.query(
            'mutation { createAlarmEndpoint(kind: WEBHOOK, target: "https://hooks.example.com/sf", minSeverity: CRITICAL)'
            " { endpoint { id kind target minSeverity } secret errors { code } } }"
        )
        payload = made["data"]["createAlarmEndpoint"]
        assert payload["secret"].startswith("whsec_") and payload["errors"] == []
        listed = await owner.query("{ alarmEndpoints { id kind target minSeverity } }")
        assert listed["data"]["alarmEndpoints"] == [payload["endpoint"]]
        assert "whsec_" not in str(listed)
        bad = await owner.query(
            'mutation { createAlarmEndpoint(kind: EMAIL, target: "not-an-address") { errors { field code } } }'
        )
        assert bad["data"]["createAlarmEndpoint"]["errors"] == [
            {"field": "target", "code": "INVALID_ARGUMENT"}
        ]
    finally:
        await owner.close()
