"""A real asyncua OPC UA server on loopback, with a few press-line variables the tests write to.

Each start builds a fresh server (about a second: asyncua loads its standard address space), so a
restart drops every session and subscription, as a rebooting PLC would; the port stays the same.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from asyncua import Server, ua
from asyncua.crypto.permission_rules import User, UserRole

NAMESPACE = "urn:sfcloud:tests:press-line"

# name -> (initial value, OPC UA type); the NodeIds are "ns=2;s=Press1.<name>"
VARIABLES: dict[str, tuple[Any, ua.VariantType]] = {
    "temperature": (20.0, ua.VariantType.Double),
    "count": (0, ua.VariantType.Int32),
    "running": (False, ua.VariantType.Boolean),
    "label": ("idle", ua.VariantType.String),
}


class OpcUaPeer:
    """One OPC UA server the test controls: write values with their source time, stop, start again."""

    def __init__(self, users: dict[str, str] | None = None) -> None:
        self.port = 0  # chosen by the OS on the first start, kept afterwards
        self.node_ids: dict[str, str] = {}
        self._users = users  # username -> password; None lets anyone in, anonymous too
        self._server: Server | None = None

    @property
    def endpoint(self) -> str:
        return f"opc.tcp://127.0.0.1:{self.port}/"

    async def start(self) -> None:
        server = Server(user_manager=_Passwords(self._users) if self._users is not None else None)
        await server.init()
        server.disable_clock()  # its 1 s clock task would make every stop wait for it
        server.set_endpoint(f"opc.tcp://127.0.0.1:{self.port}/")
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        await self._add_variables(server)
        await server.start()
        self.port = server.bserver.port
        self._server = server

    async def _add_variables(self, server: Server) -> None:
        ns = await server.register_namespace(NAMESPACE)
        press = await server.nodes.objects.add_object(ua.NodeId("Press1", ns), "Press1")
        for name, (initial, variant_type) in VARIABLES.items():
            node_id = ua.NodeId(f"Press1.{name}", ns)
            node = await press.add_variable(node_id, name, ua.Variant(initial, variant_type))
            self.node_ids[name] = node.nodeid.to_string()

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop()
            self._server = None

    async def reset(self) -> None:
        """Running, with every variable back at its initial value (stamped now), for the next test."""
        if self._server is None:
            await self.start()
            return
        for name, (initial, _) in VARIABLES.items():
            await self.write(name, initial, datetime.now(UTC))

    def freeze(self) -> None:
        """Stop answering on the open connections, like a hung PLC or a cut cable; new ones still work."""
        assert self._server is not None, "the server is stopped"
        for transport in self._server.iserver.asyncio_transports:
            transport.pause_reading()

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def write(
        self, name: str, value: Any, source_ts: datetime | None, status: int = ua.StatusCodes.Good
    ) -> None:
        """Set a variable as a device would: its value, the device's own time and a quality."""
        assert self._server is not None, "the server is stopped"
        variant = ua.Variant(value, VARIABLES[name][1])
        data_value = ua.DataValue(variant, StatusCode=ua.StatusCode(status), SourceTimestamp=source_ts)
        await self._server.get_node(self.node_ids[name]).write_value(data_value)


class _Passwords:
    """An asyncua user manager that lets in only these usernames with their passwords."""

    def __init__(self, users: dict[str, str]) -> None:
        self._users = users

    def get_user(
        self, iserver: Any, username: str | None = None, password: str | None = None, certificate: Any = None
    ) -> User | None:
        if username is not None and self._users.get(username) == password:
            return User(role=UserRole.User, name=username)
        return None


@asynccontextmanager
async def opcua_server(users: dict[str, str] | None = None) -> AsyncIterator[OpcUaPeer]:
    """A started :class:`OpcUaPeer`, stopped on exit."""
    peer = OpcUaPeer(users)
    await peer.start()
    try:
        yield peer
    finally:
        await peer.stop()
