"""Reporting an alarm condition to tenancy and announcing what changed: every transition is published on
the tenant's alarm feed (the GraphQL `alarms` subscription) and its notifications handed to the notifier.
Shared by the rule evaluation (alarm_watch) and the anomaly scoring (anomaly_watch)."""

from __future__ import annotations

import uuid
from typing import Any

from services.runtime.alarm_feed import publish_change
from services.worker.alarm_client import AlarmClient
from services.worker.alarm_notify import Notifier
from sfcloud.v1 import alarms_pb2 as pb


class AlarmReporter:
    def __init__(self, redis: Any, client: AlarmClient, notifier: Notifier) -> None:
        self._redis, self._client, self._notifier = redis, client, notifier

    async def report(self, tenant_id: uuid.UUID, request: pb.ReportAlarmConditionRequest) -> None:
        for transition in await self._client.report(tenant_id, request):
            await publish_change(self._redis, tenant_id, transition.event, transition.alarm.id)
            self._notifier.dispatch(tenant_id, transition)
