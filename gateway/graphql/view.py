"""The GraphQL endpoint: Strawberry's ASGI view with sfcloud's session context and guards.

Cookie-authenticated requests must prove they come from our own pages: HTTP
POSTs carry the session's CSRF token in `X-CSRF-Token`, websocket upgrades
carry an `Origin` matching the host (Strawberry checks neither by itself).
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from gateway.backends import Backends
from gateway.graphql.context import Context
from gateway.graphql.schema import build_schema
from gateway.sessions import Session, SessionStore

SESSION_SCOPE_KEY = "sf.session"


def same_origin(connection: HTTPConnection) -> bool:
    """True unless the request names an Origin other than the host it was sent to."""
    origin = connection.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == connection.headers.get("host")


class GraphQLView(GraphQL):
    def __init__(
        self, backends: Backends, redis: aioredis.Redis, sessions: SessionStore, cookie_name: str
    ) -> None:
        super().__init__(
            build_schema(),
            allow_queries_via_get=False,
            subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
            connection_init_wait_timeout=timedelta(seconds=10),
            keep_alive=True,
            keep_alive_interval=15,
        )
        self._backends = backends
        self._redis = redis
        self._sessions = sessions
        self._cookie_name = cookie_name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        connection = HTTPConnection(scope)
        session = await self._sessions.get(connection.cookies.get(self._cookie_name))
        refusal = self._refusal(connection, session)
        if refusal is not None:
            if scope["type"] == "websocket":
                await WebSocket(scope, receive, send).close(code=4403, reason=refusal)
            else:
                await JSONResponse(
                    {"errors": [{"message": refusal, "extensions": {"code": "FORBIDDEN"}}]}, 403
                )(scope, receive, send)
            return
        scope[SESSION_SCOPE_KEY] = session
        await super().__call__(scope, receive, send)

    @staticmethod
    def _refusal(connection: HTTPConnection, session: Session | None) -> str | None:
        if not same_origin(connection):
            return "cross-origin request refused"
        is_post = connection.scope["type"] == "http" and connection.scope["method"] == "POST"
        if session is not None and is_post and connection.headers.get("x-csrf-token") != session.csrf_token:
            return "missing or wrong X-CSRF-Token header"
        return None

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        return Context(
            backends=self._backends,
            redis=self._redis,
            session=request.scope.get(SESSION_SCOPE_KEY),
            request=request,
            response=response,
        )
