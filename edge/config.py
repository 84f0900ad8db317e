"""The agent's configuration file (YAML), checked whole before anything connects.

    cloud:
      target: ingest.sfcloud.example:443
      tls: true                        # false only on loopback or a trusted network
      # the device credential comes from SF_EDGE_CREDENTIAL, or `credential:` here
    buffer:
      path: /var/lib/sf-edge/buffer.db
      max_mb: 100
    forward:
      batch_points: 5000
      live_window_s: 30
      compress: true
      drain_multiple: 5                # after an outage, a backlog goes at up to 5 times the plant's rate
      drain_min_points_per_s: 1000     # … and never slower than this
      retry_initial_s: 0.5             # reconnect backoff, doubling up to retry_max_s
      retry_max_s: 10
      ack_timeout_s: 30                # an acknowledgement overdue this long means a dead link
    sources:
      - kind: opcua
        ...
      - kind: mqtt
        ...

Every mistake is reported with its place in the file (``sources[1].port: …``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from edge.errors import EdgeConfigError
from edge.fields import mapping, required_text, text
from edge.forwarder import ForwardOptions
from edge.readings import Source
from edge.sources.mqtt import MqttSource, parse_mqtt
from edge.sources.opcua import OpcUaSource, parse_opcua
from sfclient.policy import SessionPolicy

CREDENTIAL_ENV = "SF_EDGE_CREDENTIAL"

# kind → builds the source from its section (the parser checks the section, the class connects)
SOURCE_KINDS: dict[str, Callable[[Mapping, str], Source]] = {
    "opcua": lambda section, where: OpcUaSource(parse_opcua(section, where)),
    "mqtt": lambda section, where: MqttSource(parse_mqtt(section, where)),
}


@dataclass(frozen=True)
class EdgeConfig:
    target: str
    tls: bool
    credential: str
    buffer_path: Path
    buffer_max_bytes: int
    forward: ForwardOptions
    sources: tuple[Source, ...]


def load(path: Path, env: Mapping[str, str] = os.environ) -> EdgeConfig:
    """Read and check the file at ``path``; raises EdgeConfigError naming the first wrong key."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise EdgeConfigError(str(path), f"cannot be read: {exc}") from None
    return parse(mapping(data, "the file"), env)


def parse(data: Mapping, env: Mapping[str, str]) -> EdgeConfig:
    cloud = mapping(data.get("cloud"), "cloud")
    buffer = mapping(data.get("buffer", {}), "buffer")
    return EdgeConfig(
        target=required_text(cloud, "target", "cloud"),
        tls=_bool(cloud, "tls", "cloud", True),
        credential=_credential(cloud, env),
        buffer_path=Path(text(buffer, "path", "buffer", "sf-edge-buffer.db")),
        buffer_max_bytes=int(_number(buffer, "max_mb", "buffer", 100) * 2**20),
        forward=_forward(mapping(data.get("forward", {}), "forward")),
        sources=_sources(data.get("sources")),
    )


def _forward(section: Mapping) -> ForwardOptions:
    defaults, policy = ForwardOptions(), SessionPolicy()
    return ForwardOptions(
        batch_points=int(_number(section, "batch_points", "forward", defaults.batch_points, most=100_000)),
        compress=_bool(section, "compress", "forward", defaults.compress),
        drain_multiple=_number(section, "drain_multiple", "forward", defaults.drain_multiple, most=1_000),
        drain_min_points_per_s=_number(
            section, "drain_min_points_per_s", "forward", defaults.drain_min_points_per_s
        ),
        policy=SessionPolicy(
            ack_timeout_s=_number(section, "ack_timeout_s", "forward", policy.ack_timeout_s),
            backoff_initial_s=_number(section, "retry_initial_s", "forward", policy.backoff_initial_s),
            backoff_max_s=_number(section, "retry_max_s", "forward", policy.backoff_max_s),
            live_window_s=_number(section, "live_window_s", "forward", policy.live_window_s),
        ),
    )


def _sources(value: Any) -> tuple[Source, ...]:
    if not isinstance(value, list) or not value:
        raise EdgeConfigError("sources", "a non-empty list of sources is needed")
    sources = []
    for index, section in enumerate(value):
        where = f"sources[{index}]"
        kind = mapping(section, where).get("kind")
        if kind not in SOURCE_KINDS:
            raise EdgeConfigError(
                f"{where}.kind", f"{kind!r} is not one of {', '.join(sorted(SOURCE_KINDS))}"
            )
        sources.append(SOURCE_KINDS[kind](section, where))
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise EdgeConfigError("sources", "two sources have the same name")
    return tuple(sources)


def _credential(cloud: Mapping, env: Mapping[str, str]) -> str:
    credential = env.get(CREDENTIAL_ENV) or cloud.get("credential")
    if not isinstance(credential, str) or not credential.startswith("sfd_"):
        raise EdgeConfigError(
            "cloud.credential", f"set {CREDENTIAL_ENV} (or cloud.credential) to the sfd_… device credential"
        )
    return credential


def _bool(section: Mapping, key: str, where: str, default: bool) -> bool:
    value = section.get(key, default)
    if not isinstance(value, bool):
        raise EdgeConfigError(f"{where}.{key}", f"true or false, not {value!r}")
    return value


def _number(section: Mapping, key: str, where: str, default: float, most: float = float("inf")) -> float:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= most:
        raise EdgeConfigError(
            f"{where}.{key}", f"a number above 0 and at most {most:g} is needed, not {value!r}"
        )
    return float(value)
