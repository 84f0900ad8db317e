"""The ``kind: opcua`` section of the configuration file, checked whole before anything connects.

- kind: opcua
  name: press-line                      # names the source in logs
  endpoint: opc.tcp://10.0.0.5:4840
  mode: subscription                    # or polling
  interval_ms: 1000                     # publishing interval, or poll period
  username: edge                        # optional, with password
  password: ...
  nodes:
    - node: "ns=2;s=Press1.Temperature" # an OPC UA NodeId
      series: 5b0f7c1e-…                # the sfcloud series it feeds
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from asyncua import ua

from edge.errors import EdgeConfigError
from edge.fields import check_keys, required_text

MODES = ("subscription", "polling")
_KEYS = ("kind", "name", "endpoint", "mode", "interval_ms", "username", "password", "nodes")
_NODE_KEYS = ("node", "series")


@dataclass(frozen=True, slots=True)
class OpcUaNode:
    """One server variable and the sfcloud series its samples go to."""

    node_id: str  # canonical NodeId text, e.g. "ns=2;s=Press1.Temperature"
    series_id: str  # canonical UUID text


@dataclass(frozen=True, slots=True)
class OpcUaSourceConfig:
    name: str
    endpoint: str
    nodes: tuple[OpcUaNode, ...]
    mode: Literal["subscription", "polling"] = "subscription"
    interval_ms: int = 1000
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def parse_opcua(section: Mapping, where: str) -> OpcUaSourceConfig:
    """Check one ``kind: opcua`` section; an EdgeConfigError names the first wrong key."""
    check_keys(section, where, _KEYS)
    if section.get("kind", "opcua") != "opcua":
        raise EdgeConfigError(f"{where}.kind", f"'opcua' is needed here, not {section['kind']!r}")
    username, password = _credentials(section, where)
    return OpcUaSourceConfig(
        name=required_text(section, "name", where),
        endpoint=_endpoint(section, where),
        nodes=_nodes(section, where),
        mode=_choice(section, "mode", where, MODES),
        interval_ms=_interval(section, where),
        username=username,
        password=password,
    )


def _endpoint(section: Mapping, where: str) -> str:
    endpoint = required_text(section, "endpoint", where)
    host_port = endpoint.removeprefix("opc.tcp://").split("/", 1)[0]
    if not endpoint.startswith("opc.tcp://") or not host_port:
        raise EdgeConfigError(f"{where}.endpoint", f"{endpoint!r} is not an opc.tcp://host:port URL")
    if "@" in host_port:  # asyncua would take credentials from the URL, and they would show in logs
        raise EdgeConfigError(f"{where}.endpoint", "must not hold credentials; use username and password")
    return endpoint


def _choice(section: Mapping, key: str, where: str, choices: tuple[str, ...]) -> Any:
    value = section.get(key, choices[0])
    if value not in choices:
        raise EdgeConfigError(f"{where}.{key}", f"{value!r} is not one of {', '.join(choices)}")
    return value


def _interval(section: Mapping, where: str) -> int:
    value = section.get("interval_ms", 1000)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise EdgeConfigError(
            f"{where}.interval_ms", f"a whole number of milliseconds above 0, not {value!r}"
        )
    return value


def _credentials(section: Mapping, where: str) -> tuple[str | None, str | None]:
    if "username" not in section and "password" not in section:
        return None, None
    return required_text(section, "username", where), required_text(section, "password", where)


def _nodes(section: Mapping, where: str) -> tuple[OpcUaNode, ...]:
    entries = section.get("nodes")
    if not isinstance(entries, list) or not entries:
        raise EdgeConfigError(f"{where}.nodes", "a non-empty list of {node, series} mappings is needed")
    nodes = tuple(_node(entry, f"{where}.nodes[{index}]") for index, entry in enumerate(entries))
    _check_unique(nodes, where)
    return nodes


def _node(entry: Any, where: str) -> OpcUaNode:
    check_keys(entry, where, _NODE_KEYS)
    return OpcUaNode(node_id=_node_id(entry, where), series_id=_series(entry, where))


def _node_id(entry: Mapping, where: str) -> str:
    text = required_text(entry, "node", where)
    try:
        node_id = ua.NodeId.from_string(text)
    except ua.UaStringParsingError:
        raise EdgeConfigError(
            f"{where}.node", f"{text!r} is not an OPC UA NodeId (like 'ns=2;s=Press1.Temperature')"
        ) from None
    if isinstance(node_id, ua.ExpandedNodeId):
        raise EdgeConfigError(f"{where}.node", f"{text!r}: nsu= and srv= are not supported; use ns=<index>")
    if node_id.has_null_identifier():
        raise EdgeConfigError(f"{where}.node", f"{text!r} has an empty identifier")
    return node_id.to_string()


def _series(entry: Mapping, where: str) -> str:
    text = required_text(entry, "series", where)
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise EdgeConfigError(f"{where}.series", f"{text!r} is not a UUID") from None


def _check_unique(nodes: tuple[OpcUaNode, ...], where: str) -> None:
    """A node read twice, or two nodes feeding one series, is a copy-paste slip."""
    for key, attribute in (("node", "node_id"), ("series", "series_id")):
        first_at: dict[str, int] = {}
        for index, node in enumerate(nodes):
            value = getattr(node, attribute)
            if value in first_at:
                raise EdgeConfigError(
                    f"{where}.nodes[{index}].{key}", f"{value!r} is already used by nodes[{first_at[value]}]"
                )
            first_at[value] = index
