"""graphql-transport-ws with the plan's live limits (`gateway/livelimits.py`).

A socket takes its place among the tenant's live connections when it initialises; with all places
taken it is closed with `4403: Forbidden` and a reason naming the limit. 4403 is the protocol's
refusal of a connection at `connection_init` (Strawberry's `on_ws_connect` rejection), which
clients such as graphql-ws retry with backoff: right for a place that frees when another socket
closes. (4429 would be wrong: the protocol keeps it for a second `connection_init`, and clients
treat it as fatal.) A refused subscribe gets the protocol's `error` message for its id, code
`RATE_LIMITED`; the socket and its other subscriptions go on. The place is given back when the
socket closes, however it closes.

An initialised socket is watched by `gateway/liverevocation.py`: when its caller's session ends, its
API key is revoked or its tenant suspended, its operations stop and it is closed (4401 / 4403); a
caller in that state is refused at `connection_init` the same way. A `subscribe` before
`connection_init` is closed with 4401 and a socket without `connection_init` after 10 s with 4408
(Strawberry, `connection_init_wait_timeout` in `view.py`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from redis.exceptions import RedisError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)

from gateway.graphql.context import Context
from gateway.livelimits import LiveSlot, TooManyConnections
from gateway.liverevocation import Ending, Watched
from services.runtime.errors import ServiceError

if TYPE_CHECKING:
    from gateway.graphql.view import GraphQLView

log = logging.getLogger(__name__)
TOO_MANY_CONNECTIONS = 4403


class LimitedTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    view: GraphQLView
    slot: LiveSlot | None = None
    watched: Watched | None = None

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        first = not (self.connection_init_received or self.connection_timed_out)
        if first:
            refusal = await self._refusal()
            if refusal is not None:
                await self.websocket.close(code=refusal.code, reason=refusal.reason)
                return
            try:
                self.slot = await self.view.live.admit(self.context.caller.principal, self.context.limits)
            except TooManyConnections as refusal:
                await self.websocket.close(code=TOO_MANY_CONNECTIONS, reason=str(refusal))
                return
        await super().handle_connection_init(message)
        if first and self.connection_acknowledged:
            self.watched = self.view.revocation.watch(self.context.caller, self.end)

    async def _refusal(self) -> Ending | None:
        try:
            return await self.view.revocation.refusal(self.context.caller)
        except (RedisError, ServiceError) as exc:  # as a request authenticated a moment ago: let it through
            log.warning("live socket not re-checked at its start", extra={"error": repr(exc)})
            return None

    async def end(self, ending: Ending) -> None:
        """The caller's right ended: stop its operations at once, then close the socket."""
        for operation_id in list(self.operations):
            await self.cleanup_operation(operation_id)
        await self.websocket.close(code=ending.code, reason=ending.reason)

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
        if self.watched is not None:
            self.view.revocation.forget(self.watched)
        try:
            await super().shutdown()
        finally:
            if self.slot is not None:
                await self.slot.give_back()
