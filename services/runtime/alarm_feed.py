"""A tenant's alarm changes (raised, acknowledged, cleared) on its Redis pub/sub channel, which the
GraphQL `alarms` subscriptions read. Both the worker (changes from data) and the gateway (changes by
people) publish them. Best effort: the change is stored in tenancy already, so a Redis failure loses
only the live message, and is logged."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from redis.exceptions import RedisError

from services.runtime.keys import alarm_channel, alarm_message

log = logging.getLogger(__name__)


async def publish_change(redis: Any, tenant_id: uuid.UUID, event: str, alarm_id: str) -> None:
    try:
        await redis.publish(alarm_channel(tenant_id), alarm_message(event, alarm_id))
    except (RedisError, OSError) as exc:
        log.warning("alarm publish failed", extra={"error": repr(exc)})
