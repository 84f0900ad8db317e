"""Delivering alarm notifications: webhooks signed with HMAC-SHA256, emails through tenancy; each retried
with exponential backoff and, after a bound, given up; the outcome recorded in tenancy.

Webhook request (docs/ANALYTICS.md, "Alarms", tells customers how to verify it):

    POST <url>
    Content-Type: application/json
    X-Sfcloud-Delivery: <delivery id>          (the same on every retry: deduplicate on it)
    X-Sfcloud-Timestamp: <unix seconds>        (of this attempt)
    X-Sfcloud-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>

Any 2xx answer is a delivery; anything else (or no answer within 10 s) is retried after
``base_s x 2^(attempt - 1)`` seconds, at most ``max_attempts`` attempts in all (defaults: 1 s, 6 attempts,
so the last try comes 31 s after the first), then recorded as failed with the last error.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
import uuid
from dataclasses import dataclass

import httpx

from services.runtime.errors import ServiceError
from services.worker.alarm_client import AlarmClient
from services.worker.webhook_targets import TargetRefused, check_target
from sfcloud.v1 import alarms_pb2 as pb

log = logging.getLogger(__name__)
SIGNATURE_VERSION = "v1"


@dataclass(frozen=True)
class Backoff:
    base_s: float = 1.0
    max_attempts: int = 6

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return self.base_s * 2 ** (attempt - 1)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={mac}"


def webhook_body(tenant_id: uuid.UUID, transition: pb.AlarmTransition, delivery_id: str) -> bytes:
    a = transition.alarm
    payload = {
        "delivery_id": delivery_id,
        "tenant_id": str(tenant_id),
        "event": transition.event,
        "alarm": {
            "id": a.id,
            "rule_id": a.rule_id,
            "rule_name": a.rule_name,
            "kind": pb.AlarmRuleKind.Name(a.kind).removeprefix("ALARM_RULE_KIND_").lower(),
            "severity": pb.AlarmSeverity.Name(a.severity).removeprefix("ALARM_SEVERITY_").lower(),
            "state": pb.AlarmState.Name(a.state).removeprefix("ALARM_STATE_").lower(),
            "series_id": a.series_id or None,
            "device_id": a.device_id or None,
            "raised_ns": a.raised_ns,
            "cleared_ns": a.cleared_ns or None,
            "value": a.value,
            "detail": a.detail,
        },
    }
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


class Notifier:
    def __init__(
        self,
        client: AlarmClient,
        http: httpx.AsyncClient,
        backoff: Backoff = Backoff(),
        allow_private_targets: bool = False,
    ) -> None:
        self._client = client
        self._http = http
        self._backoff = backoff
        self._allow_private = allow_private_targets
        self._tasks: set[asyncio.Task] = set()

    def dispatch(self, tenant_id: uuid.UUID, transition: pb.AlarmTransition) -> None:
        """Deliver the transition's notifications in the background (each retried on its own)."""
        for delivery in transition.deliveries:
            task = asyncio.create_task(self.deliver(tenant_id, transition, delivery))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def drain(self, timeout_s: float) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout_s)

    async def deliver(
        self, tenant_id: uuid.UUID, transition: pb.AlarmTransition, delivery: pb.AlarmDelivery
    ) -> bool:
        if delivery.kind == pb.ALARM_ENDPOINT_KIND_WEBHOOK:
            body = webhook_body(tenant_id, transition, delivery.id)
            attempt_once = lambda: self._post(delivery, body)  # noqa: E731
        else:
            attempt_once = lambda: self._client.send_email(tenant_id, delivery.id)  # noqa: E731
        attempts, error = await self._with_retries(attempt_once)
        try:
            if delivery.kind == pb.ALARM_ENDPOINT_KIND_WEBHOOK or error:
                await self._client.record(tenant_id, delivery.id, not error, attempts, error)
        except ServiceError as exc:
            log.warning("alarm delivery not recorded", extra={"delivery": delivery.id, "error": exc.message})
        return not error

    async def _with_retries(self, attempt_once) -> tuple[int, str]:
        """(attempts made, last error or '' on success)."""
        error = ""
        for attempt in range(1, self._backoff.max_attempts + 1):
            try:
                await attempt_once()
                return attempt, ""
            except (httpx.HTTPError, ServiceError, DeliveryRefused, TargetRefused) as exc:
                error = str(exc) or type(exc).__name__
            if attempt < self._backoff.max_attempts:
                await asyncio.sleep(self._backoff.delay(attempt))
        return self._backoff.max_attempts, error

    async def _post(self, delivery: pb.AlarmDelivery, body: bytes) -> None:
        await check_target(delivery.target, self._allow_private)  # never into our own network
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "x-sfcloud-delivery": delivery.id,
            "x-sfcloud-timestamp": str(timestamp),
            "x-sfcloud-signature": signature(delivery.secret, timestamp, body),
        }
        response = await self._http.post(delivery.target, content=body, headers=headers, timeout=10)
        if not 200 <= response.status_code < 300:
            raise DeliveryRefused(f"HTTP {response.status_code}")


class DeliveryRefused(Exception):
    """The receiver answered with a status other than 2xx."""
