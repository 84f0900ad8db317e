"""One MQTT v5 connection through paho-mqtt, bridged into asyncio, with manual acknowledgement.

paho-mqtt is used directly because it can hold back a PUBACK until the application says so
(``manual_ack``, ``Client.ack``); aiomqtt 2.5 cannot (empicano/aiomqtt#345). paho runs the socket on
its own thread (``loop_start``): its callbacks hop onto the event loop with ``call_soon_threadsafe``,
and ``ack`` may be called from the event loop (paho queues the packet under its own lock).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

RECEIVE_MAXIMUM = 1000  # unacknowledged messages the broker may send us before it waits for PUBACKs
SESSION_NEVER_EXPIRES = 0xFFFFFFFF  # like clean_session=False in MQTT 3.1.1
KEEPALIVE_S = 30
REPLY_TIMEOUT_S = 10.0  # for CONNACK and SUBACK


class LinkLost(Exception):
    """The connection ended, or never came up; the caller backs off and opens a new link."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One PUBLISH from the broker, not yet acknowledged."""

    topic: str | None  # None when the topic is not UTF-8 (a broker should never pass one on)
    payload: bytes
    received_ns: int  # wall-clock time it arrived
    mid: int
    qos: int


class Link:
    """A persistent session (fixed client id, never expires, resumed on connect) subscribed at QoS 1."""

    def __init__(self, client_id: str, username: str | None, password: str | None) -> None:
        self._loop = asyncio.get_running_loop()
        self._inbox: asyncio.Queue[Delivery | LinkLost] = asyncio.Queue()  # LinkLost comes last
        self._reply: asyncio.Future[None] = self._loop.create_future()  # the CONNACK, then the SUBACK
        self.resumed = False  # whether the broker still had our session (and what it kept for us)
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id, protocol=mqtt.MQTTv5, reconnect_on_failure=False
        )
        self._client.manual_ack_set(True)
        if username is not None:
            self._client.username_pw_set(username, password)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self._client.on_disconnect = self._on_disconnect

    async def open(self, host: str, port: int, topic_filter: str) -> None:
        """Connect, resuming the broker's stored session, and subscribe to ``topic_filter`` at QoS 1."""
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = SESSION_NEVER_EXPIRES
        properties.ReceiveMaximum = RECEIVE_MAXIMUM
        try:
            # clean_start=False on every connect: paho's default starts the first one clean, which
            # would throw away the messages the broker kept for us while the agent was down
            await asyncio.to_thread(
                self._client.connect, host, port, KEEPALIVE_S, clean_start=False, properties=properties
            )
            self._client.loop_start()
            async with asyncio.timeout(REPLY_TIMEOUT_S):
                await self._reply
                self._reply = self._loop.create_future()
                self._client.subscribe(topic_filter, options=_QOS1_WITHOUT_RETAINED)
                await self._reply
        except OSError as exc:  # refused, unreachable, unknown host, timed out
            raise LinkLost(f"cannot reach {host}:{port}: {exc or 'timed out'}") from exc

    async def next(self) -> Delivery:
        """The next message; raises LinkLost once the connection has ended."""
        delivery = await self._inbox.get()
        if isinstance(delivery, LinkLost):
            self._inbox.put_nowait(delivery)  # every later call fails the same way
            raise delivery
        return delivery

    def ack(self, delivery: Delivery) -> None:
        """Send the PUBACK; lost with the connection if it has ended (the broker then sends it again)."""
        self._client.ack(delivery.mid, delivery.qos)

    def close(self) -> None:
        """Disconnect (the session stays on the broker) and stop paho's thread."""
        self._client.disconnect()
        self._client.loop_stop()

    # paho's callbacks, called on its network thread

    def _on_connect(self, _c: Any, _u: Any, flags: Any, reason: Any, _props: Any = None) -> None:
        self.resumed = flags.session_present
        error = LinkLost(f"the broker refused the connection: {reason}") if reason.is_failure else None
        self._loop.call_soon_threadsafe(self._answer, error)

    def _on_subscribe(self, _c: Any, _u: Any, _mid: int, reasons: list, _props: Any = None) -> None:
        failed = [str(reason) for reason in reasons if reason.is_failure]
        error = LinkLost(f"the broker refused the subscription: {', '.join(failed)}") if failed else None
        self._loop.call_soon_threadsafe(self._answer, error)

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        try:
            topic = message.topic
        except UnicodeDecodeError:
            topic = None
        delivery = Delivery(topic, message.payload, time.time_ns(), message.mid, message.qos)
        self._loop.call_soon_threadsafe(self._inbox.put_nowait, delivery)

    def _on_disconnect(self, _c: Any, _u: Any, _flags: Any, reason: Any, _props: Any = None) -> None:
        self._loop.call_soon_threadsafe(self._lost, f"the broker connection ended: {reason}")

    # and back on the event loop

    def _answer(self, error: LinkLost | None) -> None:
        if self._reply.done():
            return
        if error is None:
            self._reply.set_result(None)
        else:
            self._reply.set_exception(error)

    def _lost(self, why: str) -> None:
        self._answer(LinkLost(why))
        self._inbox.put_nowait(LinkLost(why))


# retained messages are old readings: reading them on every resubscribe would duplicate them
_QOS1_WITHOUT_RETAINED = SubscribeOptions(qos=1, retainHandling=SubscribeOptions.RETAIN_DO_NOT_SEND)
