"""The MQTT source: readings that devices publish to a broker, kept across agent crashes.

Topics are ``<prefix>/<key>``: the key is an sfcloud series UUID, or a name that the ``series:`` map
turns into one. Payloads are described in :mod:`edge.sources.mqtt_payload`.

Nothing is lost when the agent is killed at any moment: the source subscribes to ``<prefix>/#`` at
QoS 1 in a persistent session (fixed client id, resumed on every connect), and acknowledges a
message (PUBACK) only after the sink has committed the batch that holds it. Until then the broker
keeps it and sends it again after a reconnect; only a kill between the commit and the PUBACK makes
a duplicate, which the cloud drops (one value per series and timestamp). A message that can never
become valid (unknown topic, rejected payload) is counted, logged and acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from edge.errors import EdgeConfigError
from edge.fields import check_keys, required_text, text
from edge.readings import Reading, Sink
from edge.sources.mqtt_link import RECEIVE_MAXIMUM, Delivery, Link, LinkLost
from edge.sources.mqtt_payload import PayloadError, decode

log = logging.getLogger(__name__)

BATCH_READINGS = 1000
BATCH_LINGER_S = 0.1  # a batch is written at most this long after its first message arrived
BACKOFF_FIRST_S = 0.5
BACKOFF_CAP_S = 10.0
LOG_EVERY_S = 60.0  # one line per bad topic per minute
_KEYS = {"kind", "name", "host", "port", "client_id", "username", "password", "prefix", "series"}


@dataclass(frozen=True)
class MqttSourceConfig:
    """One ``kind: mqtt`` entry of the configuration file, checked."""

    name: str
    host: str
    client_id: str  # the broker keeps the session (and our unacknowledged messages) under this id
    port: int = 1883
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    prefix: str = "sfcloud"
    series: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # topic key → UUID


@dataclass
class MqttStats:
    """What the source has seen since it started, for status output and tests."""

    messages: int = 0  # every message received, good or bad
    readings: int = 0  # written to the sink
    rejected: int = 0  # payloads that are none of the accepted forms
    unknown_topic: int = 0  # topics that name no series
    reconnects: int = 0  # connections lost (or never made) and tried again


def parse_mqtt(section: Mapping, where: str) -> MqttSourceConfig:
    """The ``kind: mqtt`` entry at ``where`` (``sources[1]``); errors name the wrong key."""
    check_keys(section, where, _KEYS)
    username, password = text(section, "username", where), text(section, "password", where)
    if password is not None and username is None:
        raise EdgeConfigError(f"{where}.username", "is needed with a password")
    return MqttSourceConfig(
        name=required_text(section, "name", where),
        host=required_text(section, "host", where),
        client_id=required_text(section, "client_id", where),
        port=_port(section.get("port", 1883), f"{where}.port"),
        username=username,
        password=password,
        prefix=_topic_part(text(section, "prefix", where, "sfcloud"), f"{where}.prefix"),
        series=_series(section.get("series"), f"{where}.series"),
    )


class MqttSource:
    """Reads one broker into the sink; see the module docstring for the delivery guarantee."""

    def __init__(self, config: MqttSourceConfig) -> None:
        self.name = config.name
        self.stats = MqttStats()
        self._config = config
        self._logged: dict[str, float] = {}  # topic → when a problem with it was last logged

    async def run(self, sink: Sink) -> None:
        """Connect, read and write until cancelled; after a lost connection or a failed write, back off
        (capped, jittered; a connection that lasted past the cap starts it over) and reconnect, and
        the broker sends the unacknowledged messages again."""
        failures = 0
        while True:
            started = time.monotonic()
            await self._connection(sink)
            self.stats.reconnects += 1
            failures = 1 if time.monotonic() - started > BACKOFF_CAP_S else failures + 1
            delay = min(BACKOFF_CAP_S, BACKOFF_FIRST_S * 2 ** (failures - 1))
            await asyncio.sleep(random.uniform(delay / 2, delay))  # noqa: S311 (jitter, not a secret)

    async def _connection(self, sink: Sink) -> None:
        config = self._config
        link = Link(config.client_id, config.username, config.password)
        try:
            await link.open(config.host, config.port, f"{config.prefix}/#")
            resumed = "resumed" if link.resumed else "new"
            log.info(
                "mqtt %s: reading %s/# on %s (%s session)", self.name, config.prefix, config.host, resumed
            )
            await self._pump(link, sink)
        except LinkLost as exc:
            log.warning("mqtt %s: %s", self.name, exc)
        except Exception:  # the sink failed, most likely: the broker sends the batch again after a reconnect
            log.exception("mqtt %s: failed; reconnecting", self.name)
        finally:
            link.close()

    async def _pump(self, link: Link, sink: Sink) -> None:
        while True:
            deliveries, readings = await self._batch(link)
            if readings:
                await sink.write(readings)
            for delivery in deliveries:  # in the order received, as MQTT requires
                link.ack(delivery)
            self.stats.readings += len(readings)

    async def _batch(self, link: Link) -> tuple[list[Delivery], list[Reading]]:
        """From the next message on, until BATCH_READINGS readings, BATCH_LINGER_S seconds, or as many
        messages as the broker sends before it waits for our PUBACKs."""
        deliveries = [await link.next()]
        readings = self._readings(deliveries[0])
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(BATCH_LINGER_S):
                while len(readings) < BATCH_READINGS and len(deliveries) < RECEIVE_MAXIMUM:
                    deliveries.append(await link.next())
                    readings += self._readings(deliveries[-1])
        return deliveries, readings

    def _readings(self, delivery: Delivery) -> list[Reading]:
        self.stats.messages += 1
        series_id = self._series_id(delivery.topic)
        if series_id is None:
            self.stats.unknown_topic += 1
            self._log(delivery.topic, "names no series (neither a series UUID nor a key of series:)")
            return []
        try:
            return decode(delivery.payload, series_id, delivery.received_ns)
        except PayloadError as exc:
            self.stats.rejected += 1
            self._log(delivery.topic, f"payload rejected: {exc}")
            return []

    def _series_id(self, topic: str | None) -> str | None:
        prefix = self._config.prefix + "/"
        if topic is None or not topic.startswith(prefix):
            return None  # the prefix alone also matches <prefix>/#
        key = topic[len(prefix) :]
        return self._config.series.get(key) or _canonical_uuid(key)

    def _log(self, topic: str | None, problem: str) -> None:
        """Once per topic per minute, so one misconfigured device cannot flood the log."""
        now, topic = time.monotonic(), str(topic)
        if now - self._logged.get(topic, -LOG_EVERY_S) >= LOG_EVERY_S:
            if len(self._logged) > 10_000:  # topics made up on the fly must not grow this forever
                self._logged.clear()
            self._logged[topic] = now
            log.warning("mqtt %s: topic %s %s", self.name, topic, problem)


def _canonical_uuid(text: str) -> str | None:
    """The UUID in its canonical lowercase form, when ``text`` is one (hyphenated, 36 characters)."""
    try:
        canonical = str(uuid.UUID(text))
    except ValueError:
        return None
    return canonical if canonical == text.lower() else None


def _port(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise EdgeConfigError(where, f"a port number from 1 to 65535 is needed, not {value!r}")
    return value


def _topic_part(text: str, where: str) -> str:
    if any(c in text for c in "+#\0") or text.startswith(("$", "/")) or text.endswith("/"):
        raise EdgeConfigError(
            where, f"{text!r} must be topic levels without wildcards, a leading $ or end slashes"
        )
    return text


def _series(value: object, where: str) -> Mapping[str, str]:
    if value is None:  # absent, or left empty in YAML
        value = {}
    if not isinstance(value, Mapping):
        raise EdgeConfigError(where, "a map of topic key to series UUID is needed")
    series = {}
    for key, series_id in value.items():
        if not isinstance(key, str) or not key or any(c in key for c in "+#\0"):
            raise EdgeConfigError(f"{where}.{key}", "a topic key is a non-empty string without + or #")
        canonical = _canonical_uuid(series_id) if isinstance(series_id, str) else None
        if canonical is None:
            raise EdgeConfigError(f"{where}.{key}", f"a series UUID is needed, not {series_id!r}")
        series[key] = canonical
    return MappingProxyType(series)
