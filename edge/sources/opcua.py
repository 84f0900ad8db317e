"""The OPC UA source: subscribes to (or polls) a server's variables and hands their samples to the sink.

A connection is one asyncua ``Client``, used until it fails and then thrown away: asyncua's own
watchdog reads the server state every second and drops a connection that stops answering, the
source sees the subscription's BadShutdown status (or a failed read), and connects a new client
after a capped, jittered backoff. The subscription is built again each time, since a restarted
server has forgotten it; samples are stamped with the device's time, so a repeat of the last one
(the current value a new subscription starts with, or an unchanged poll) is recognised and dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from asyncua import Client, ua
from asyncua.client.ua_client import UaClientState
from asyncua.common.subscription import DataChangeEvent, StatusChangeEvent

from edge.readings import Reading, Sink
from edge.sources.opcua_config import OpcUaSourceConfig, parse_opcua

__all__ = ["OpcUaSource", "OpcUaSourceConfig", "OpcUaStats", "parse_opcua"]

log = logging.getLogger(__name__)

FLUSH_S = 0.1  # a reading waits at most this long for others to share its sink.write
MAX_PENDING = 1000  # ... or until this many are waiting
IDLE_S = 1.0  # with nothing pending, how often the subscription loop looks at the connection
BACKOFF_MIN_S, BACKOFF_MAX_S = 0.5, 10.0
KEEPALIVE_S = 5.0  # the server says "still here" at least this often on a quiet subscription
CLOSE_TIMEOUT_S = 1.0  # for the goodbye (CloseSession); the session would expire anyway
SESSION_TIMEOUT_MS = 60_000  # the server frees our session this long after we vanish
SERVER_QUEUE = 100  # samples a server keeps per node between two publishes
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MISCONFIGURED = {  # the node is wrong in the configuration, not just having a bad moment
    ua.StatusCodes.BadNodeIdUnknown,
    ua.StatusCodes.BadNodeIdInvalid,
    ua.StatusCodes.BadAttributeIdInvalid,
    ua.StatusCodes.BadNotReadable,
}


@dataclass
class OpcUaStats:
    """Counters that tell, at a glance, whether the source is getting data and why not."""

    readings: int = 0  # handed to the sink
    skipped_bad_status: int = 0
    reconnects: int = 0


class _NothingToRead(Exception):
    """None of the configured nodes exists on the server (yet): retried like a lost connection."""


class OpcUaSource:
    """One OPC UA server; ``run`` reads it until cancelled."""

    def __init__(self, config: OpcUaSourceConfig) -> None:
        self.name = config.name
        self.stats = OpcUaStats()
        self._config = config
        self._who = f"opcua source {config.name!r} ({config.endpoint})"
        self._series = {ua.NodeId.from_string(n.node_id): n.series_id for n in config.nodes}
        self._last_ts: dict[ua.NodeId, int] = {}  # kept across reconnects, to drop repeats
        self._bad: dict[ua.NodeId, int] = {}  # last bad status logged per node
        self._not_numbers: set[ua.NodeId] = set()
        self._connected_before = False

    async def run(self, sink: Sink) -> None:
        batch = _Batch(sink, self.stats)
        backoff = _Backoff()
        while True:
            try:
                await self._connection(batch, backoff)
            except (OSError, ua.UaError, _NothingToRead) as exc:  # OSError covers timeouts and resets
                delay = backoff.next_delay()
                log.warning("%s: %r; connecting again in %.1f s", self._who, exc, delay)
                await asyncio.sleep(delay)

    async def _connection(self, batch: _Batch, backoff: _Backoff) -> None:
        client = self._new_client()
        await client.connect()  # when this fails, asyncua has closed the socket itself
        try:
            nodes = await self._known_nodes(client)
            self._connected(len(nodes), backoff)
            if self._config.mode == "polling":
                await self._poll(client, nodes, batch)
            else:
                await self._subscribe(client, nodes, batch)
        finally:
            try:
                await batch.flush()  # before anything else: these readings exist nowhere else
            finally:
                await _close(client)

    def _new_client(self) -> Client:
        client = Client(self._config.endpoint)
        client.session_timeout = SESSION_TIMEOUT_MS
        client.name = client.description = f"sfcloud edge agent ({self.name})"
        if self._config.username is not None:
            client.set_user(self._config.username)
            client.set_password(self._config.password or "")
        return client

    def _connected(self, node_count: int, backoff: _Backoff) -> None:
        backoff.reset()
        if self._connected_before:
            self.stats.reconnects += 1
        self._connected_before = True
        log.info("%s: connected, reading %d of %d nodes", self._who, node_count, len(self._series))

    async def _known_nodes(self, client: Client) -> list[ua.NodeId]:
        """Read every node once; one the server does not know is logged and left out, the rest go on."""
        nodes = list(self._series)
        known = []
        for node, data in zip(nodes, await _read(client, nodes), strict=True):
            if data.StatusCode is not None and data.StatusCode.value in _MISCONFIGURED:
                self._skip_node(node, data.StatusCode)
            else:
                known.append(node)
        if not known:
            raise _NothingToRead("none of the configured nodes can be read on this server")
        return known

    def _skip_node(self, node: ua.NodeId, status: ua.StatusCode) -> None:
        series = self._series[node]
        log.error("%s: node %s (series %s) skipped: %s", self._who, node.to_string(), series, status.name)

    async def _subscribe(self, client: Client, nodes: list[ua.NodeId], batch: _Batch) -> None:
        subscription = await client.create_subscription(
            self._subscription_parameters(), None, queue_maxsize=0
        )
        results = await subscription.create_monitored_items(
            _monitor_requests(nodes, self._config.interval_ms)
        )
        for node, result in zip(nodes, results, strict=True):
            if isinstance(result, ua.StatusCode):
                self._skip_node(node, result)
        while True:
            event = await subscription.next_event(batch.wait_s())
            self._handle(event, client, batch)
            await batch.flush_if_due()

    def _subscription_parameters(self) -> ua.CreateSubscriptionParameters:
        interval = self._config.interval_ms
        keepalive = max(1, math.ceil(KEEPALIVE_S * 1000 / interval))
        return ua.CreateSubscriptionParameters(
            RequestedPublishingInterval=interval,
            RequestedMaxKeepAliveCount=keepalive,
            RequestedLifetimeCount=keepalive * 10,  # the server drops the subscription after 10 silences
            PublishingEnabled=True,
        )

    def _handle(self, event: Any, client: Client, batch: _Batch) -> None:
        if isinstance(event, DataChangeEvent):
            self._take(event.node.nodeid, event.data.monitored_item.Value, batch)
        elif isinstance(event, StatusChangeEvent) and event.notification.Status.is_bad():
            raise ConnectionError(f"subscription ended: {event.notification.Status.name}")
        elif event is None and client.state is not UaClientState.CONNECTED:
            raise ConnectionError("connection lost")

    async def _poll(self, client: Client, nodes: list[ua.NodeId], batch: _Batch) -> None:
        period = self._config.interval_ms / 1000
        next_at = time.monotonic()
        while True:
            for node, data in zip(nodes, await _read(client, nodes), strict=True):
                self._take(node, data, batch)
            await batch.flush_if_due(within=period)
            next_at = max(next_at + period, time.monotonic())
            await asyncio.sleep(next_at - time.monotonic())

    def _take(self, node: ua.NodeId, data: ua.DataValue, batch: _Batch) -> None:
        """One sample becomes a reading, unless it is bad, not a number, or the one seen last."""
        if data.StatusCode is not None and data.StatusCode.is_bad():
            self._bad_status(node, data.StatusCode)
            return
        self._bad.pop(node, None)
        value = _number(data.Value.Value if data.Value is not None else None)
        if value is None:
            self._not_a_number(node, data)
            return
        ts_ns = _ns(data.SourceTimestamp) or _ns(data.ServerTimestamp) or time.time_ns()
        if self._last_ts.get(node) != ts_ns:
            self._last_ts[node] = ts_ns
            batch.add(Reading(self._series[node], ts_ns, value))

    def _bad_status(self, node: ua.NodeId, status: ua.StatusCode) -> None:
        self.stats.skipped_bad_status += 1
        if self._bad.get(node) != status.value:
            self._bad[node] = status.value
            log.warning(
                "%s: node %s reports %s; skipping its samples", self._who, node.to_string(), status.name
            )

    def _not_a_number(self, node: ua.NodeId, data: ua.DataValue) -> None:
        if node not in self._not_numbers:
            self._not_numbers.add(node)
            kind = data.Value.VariantType.name if data.Value is not None else "empty"
            log.warning(
                "%s: node %s holds a %s, not a number; skipping it", self._who, node.to_string(), kind
            )


class _Batch:
    """Readings on their way to the sink: written once 100 ms old or 1,000 strong, never dropped."""

    def __init__(self, sink: Sink, stats: OpcUaStats) -> None:
        self._sink = sink
        self._stats = stats
        self._pending: list[Reading] = []
        self._since = 0.0  # when the oldest pending reading came

    def add(self, reading: Reading) -> None:
        if not self._pending:
            self._since = time.monotonic()
        self._pending.append(reading)

    def wait_s(self) -> float:
        """How long the caller may wait for more readings before this batch is due."""
        if not self._pending:
            return IDLE_S
        return max(0.001, self._since + FLUSH_S - time.monotonic())

    async def flush_if_due(self, within: float = 0.0) -> None:
        """Flush if due now, or due before the caller's next look in ``within`` seconds."""
        if len(self._pending) >= MAX_PENDING or (self._pending and self.wait_s() <= within + 0.001):
            await self.flush()

    async def flush(self) -> None:
        if self._pending:
            # kept until the sink has them: a write cut short is tried again (a duplicate, not a loss)
            await self._sink.write(self._pending)
            self._stats.readings += len(self._pending)
            self._pending = []


class _Backoff:
    """0.5 s doubling to 10 s, jittered so that agents do not all knock on a restarted server at once."""

    def __init__(self) -> None:
        self._next = BACKOFF_MIN_S

    def reset(self) -> None:
        self._next = BACKOFF_MIN_S

    def next_delay(self) -> float:
        delay, self._next = self._next, min(self._next * 2, BACKOFF_MAX_S)
        return delay * random.uniform(0.5, 1.0)  # noqa: S311 (jitter, not secrecy)


async def _read(client: Client, nodes: list[ua.NodeId]) -> list[ua.DataValue]:
    """One Read of every node's value, with both timestamps (asyncua's read_values asks only the source's)."""
    parameters = ua.ReadParameters(TimestampsToReturn=ua.TimestampsToReturn.Both)
    parameters.NodesToRead = [
        ua.ReadValueId(NodeId=node, AttributeId=ua.AttributeIds.Value) for node in nodes
    ]
    return await client.uaclient.read(parameters)


async def _close(client: Client) -> None:
    """Stop asyncua's tasks and say goodbye, but wait no more than a second for a hung server."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(CLOSE_TIMEOUT_S):
            await client.disconnect()
    if (protocol := client.uaclient.protocol) is not None:
        protocol.disconnect_socket()  # asyncua leaves it open once it has given the connection up


def _monitor_requests(nodes: list[ua.NodeId], interval_ms: int) -> list[ua.MonitoredItemCreateRequest]:
    """Report a new source time too, not just a new value: a repeated value is still a sample."""
    every_sample = ua.DataChangeFilter(Trigger=ua.DataChangeTrigger.StatusValueTimestamp)
    return [
        ua.MonitoredItemCreateRequest(
            ItemToMonitor=ua.ReadValueId(NodeId=node, AttributeId=ua.AttributeIds.Value),
            MonitoringMode=ua.MonitoringMode.Reporting,
            RequestedParameters=ua.MonitoringParameters(
                ClientHandle=handle,
                SamplingInterval=interval_ms,
                Filter=every_sample,
                QueueSize=SERVER_QUEUE,
                DiscardOldest=True,
            ),
        )
        for handle, node in enumerate(nodes, start=1)
    ]


def _number(value: Any) -> float | None:
    if isinstance(value, bool | int | float):  # bool is an int: False/True become 0/1
        return float(value)
    return None


def _ns(moment: datetime | None) -> int | None:
    """ns since the Unix epoch; None for a missing time, or OPC UA's "no time" (1601, or anything before 1970)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment <= _EPOCH:
        return None
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1000
