"""Redis keys and channels: every one starts with its tenant (`t:{tenant}:...`)."""

from __future__ import annotations

import json
import uuid


def tenant_key(tenant_id: uuid.UUID, *parts: str) -> str:
    return ":".join(("t", str(tenant_id), *parts))


def live_channel(tenant_id: uuid.UUID) -> str:
    """Pub/sub channel of a tenant's live values, published by ingest after each commit."""
    return tenant_key(tenant_id, "live")


def alarm_channel(tenant_id: uuid.UUID) -> str:
    """Pub/sub channel of a tenant's alarm changes (raised, acknowledged, cleared), for subscriptions."""
    return tenant_key(tenant_id, "alarms")


def alarm_message(event: str, alarm_id: str) -> str:
    """A message of the alarm channel: what happened to which alarm (subscribers read the alarm itself)."""
    return json.dumps({"event": event, "alarm_id": alarm_id})


def anomaly_channel(tenant_id: uuid.UUID) -> str:
    """Pub/sub channel of a tenant's anomalies as they start and end, for subscriptions."""
    return tenant_key(tenant_id, "anomalies")
