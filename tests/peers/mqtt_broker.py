"""A private Mosquitto broker on loopback: its own port, config and persistence directory.

Persistence is on, so a persistent session (and the messages queued in it) survives a graceful
restart on the same port, as with a production broker. The system broker on port 1883, if any, is
never used. Tests skip with the reason when the ``mosquitto`` binary is missing.
"""

from __future__ import annotations

import atexit
import os
import pwd
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

MOSQUITTO = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd")


class MosquittoBroker:
    """One mosquitto process the test controls: start, stop (gracefully or with SIGKILL), restart."""

    def __init__(self, directory: Path, users: Mapping[str, str] | None = None) -> None:
        if MOSQUITTO is None:
            pytest.skip("mosquitto is not installed: apt install mosquitto")
        self.host = "127.0.0.1"
        self.port = _free_port()
        self._directory = directory
        self._users = dict(users or {})
        self._process: subprocess.Popen | None = None

    def start(self) -> None:
        config = self._write_config()
        with (self._directory / "mosquitto.log").open("ab") as log:
            self._process = subprocess.Popen([MOSQUITTO, "-c", str(config)], stdout=log, stderr=log)
        atexit.register(self.kill)  # even if the test run dies before stop()
        self._wait_until_listening()

    def stop(self) -> None:
        """SIGTERM: mosquitto writes its persistence file (sessions, queued messages) and exits."""
        if self._process is not None:
            self._process.terminate()
            self._process.wait(10)
            self._forget()

    def kill(self) -> None:
        """SIGKILL: whatever mosquitto had not saved is gone, as in a power cut."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(10)
            self._forget()

    def restart(self) -> None:
        self.stop()
        self.start()

    def publish(self, messages: Iterable[tuple[str, str | bytes]], qos: int = 1) -> None:
        """Publish like a device and wait until the broker has every message (PUBACK at QoS 1)."""
        client = self.client(f"publisher-{time.monotonic_ns()}")
        try:
            infos = [client.publish(topic, payload, qos) for topic, payload in messages]
            for info in infos:
                info.wait_for_publish(10)
                assert info.is_published(), "mosquitto did not acknowledge a message"
        finally:
            client.disconnect()
            client.loop_stop()

    def open_session(self, client_id: str, topic_filter: str) -> None:
        """Create the persistent session a subscriber will resume, so the broker keeps what is
        published from now on for it even before it first connects."""
        client = self.client(client_id, persistent=True)
        subscribed = threading.Event()
        client.on_subscribe = lambda *_: subscribed.set()
        try:
            client.subscribe(topic_filter, qos=1)
            assert subscribed.wait(10), "no SUBACK from mosquitto"
        finally:
            client.disconnect()
            client.loop_stop()

    def client(self, client_id: str, persistent: bool = False) -> mqtt.Client:
        """A connected paho client (MQTT v5) with its network thread running."""
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id, protocol=mqtt.MQTTv5)
        if self._users:
            client.username_pw_set(*next(iter(self._users.items())))
        connected = threading.Event()
        client.on_connect = lambda _c, _u, _f, reason, _p: connected.set() if not reason.is_failure else None
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = 0xFFFFFFFF if persistent else 0
        client.connect(self.host, self.port, clean_start=not persistent, properties=properties)
        client.loop_start()
        assert connected.wait(10), "mosquitto did not accept the connection"
        return client

    def _write_config(self) -> Path:
        lines = [
            f"listener {self.port} {self.host}",
            f"persistence true\npersistence_location {self._directory}/",
            "max_queued_messages 100000",  # the default, 1000, drops a subscriber's backlog beyond that
            # as root, mosquitto would switch to user "mosquitto", who cannot write the directory
            f"log_dest stdout\nuser {pwd.getpwuid(os.getuid()).pw_name}",
        ]
        if self._users:
            lines.append(f"allow_anonymous false\npassword_file {self._password_file()}")
        else:
            lines.append("allow_anonymous true")
        path = self._directory / "mosquitto.conf"
        path.write_text("\n".join(lines) + "\n")
        return path

    def _password_file(self) -> Path:
        if MOSQUITTO_PASSWD is None:
            pytest.skip("mosquitto_passwd is not installed: apt install mosquitto")
        path = self._directory / "passwords"
        path.write_text("")
        for user, password in self._users.items():
            subprocess.run([MOSQUITTO_PASSWD, "-b", str(path), user, password], check=True)
        return path

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                log = (self._directory / "mosquitto.log").read_text(errors="replace")
                raise RuntimeError(f"mosquitto exited with {self._process.returncode}:\n{log}")
            try:
                socket.create_connection((self.host, self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"mosquitto is not listening on {self.host}:{self.port} after 10 s")

    def _forget(self) -> None:
        self._process = None
        atexit.unregister(self.kill)


@contextmanager
def mosquitto(directory: Path, users: Mapping[str, str] | None = None) -> Iterator[MosquittoBroker]:
    """A started :class:`MosquittoBroker`, killed on exit."""
    broker = MosquittoBroker(directory, users)
    broker.start()
    try:
        yield broker
    finally:
        broker.kill()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
