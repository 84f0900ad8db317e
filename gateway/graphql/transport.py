"""graphql-transport-ws with the plan's live limits (`gateway/livelimits.py`).

A socket takes its place among the tenant's live connections when it initialises; with all places
taken it is closed with `4403: Forbidden` and a reason naming the limit. 4403 is the protocol's
refusal of a connection at `connection_init` (Strawberry's `on_ws_connect` rejection), which
clients such as graphql-ws retry with backoff: right for a place that frees when another socket
closes. (4429 would be wrong: the protocol keeps it for a second `connection_init`, and clients
treat it as fatal.) A refused subscribe gets the protocol's `error` message for its id, code
`RATE_LIMITED`; the socket and its other subscriptions go on. The place is given back when the
socket closes, however it closes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)

from gateway.graphql.context import Context
from gateway.livelimits import LiveSlot, TooManyConnections

if TYPE_CHECKING:
    from gateway.graphql.view import GraphQLView

TOO_MANY_CONNECTIONS = 4403


class LimitedTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    view: GraphQLView
    slot: LiveSlot | None = None

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        if not (self.connection_init_received or self.connection_timed_out):
            try:
                self.slot = await self.view.live.admit(self.context.caller.principal, self.context.limits)
            except TooManyConnections as refusal:
                await self.websocket.close(code=TOO_MANY_CONNECTIONS, reason=str(refusal))
                return
        await super().handle_connection_init(message)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if self.connection_acknowledged and message["id"] not in self.operations:
            refusal = await self.view.live.refusal(
                self.context.caller.principal, self.context.limits, len(self.operations)
            )
            if refusal is not None:
                await self.send_message(
                    {"id": message["id"], "type": "error", "payload": [refusal.formatted]}
                )
                return
        await super().handle_subscribe(message)

    async def shutdown(self) -> None:
        try:
            await super().shutdown()
        finally:
            if self.slot is not None:
                await self.slot.give_back()
