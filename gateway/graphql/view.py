"""The GraphQL endpoint: Strawberry's ASGI view with sfcloud's caller context and guards.

Callers come by session cookie (the web app) or `Authorization: Bearer <API key>`.
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

from gateway.auth import Caller, GatewayAuth
from gateway.backends import Backends
from gateway.graphql.context import Context
from gateway.graphql.errors import code_for
from gateway.graphql.schema import build_schema
from gateway.metering import ApiCallMeter
from gateway.sessions import SessionStore
from services.runtime.errors import ServiceError, Unavailable

CALLER_SCOPE_KEY = "sf.caller"


def same_origin(connection: HTTPConnection) -> bool:
    """True unless the request names an Origin other than the host it was sent to."""
    origin = connection.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == connection.headers.get("host")


class GraphQLView(GraphQL):
    def __init__(
        self,
        backends: Backends,
        redis: aioredis.Redis,
        auth: GatewayAuth,
        sessions: SessionStore,
        meter: ApiCallMeter,
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
        self._auth = auth
        self._sessions = sessions
        self._meter = meter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        connection = HTTPConnection(scope)
        try:
            caller = await self._auth.caller(connection)
        except ServiceError as error:
            status = 503 if isinstance(error, Unavailable) else 401
            await refuse(scope, receive, send, status, error.message, code_for(error))
            return
        refusal = self._refusal(connection, caller)
        if refusal is not None:
            await refuse(scope, receive, send, 403, refusal, "FORBIDDEN")
            return
        scope[CALLER_SCOPE_KEY] = caller
        if caller.principal is not None:
            self._meter.count(caller.principal.tenant_id)
        await super().__call__(scope, receive, send)

    @staticmethod
    def _refusal(connection: HTTPConnection, caller: Caller) -> str | None:
        """Cookie-borne sessions must come from our own pages; API keys are the developer's to guard."""
        if not caller.by_cookie:
            return None
        if not same_origin(connection):
            return "cross-origin request refused"
        is_post = connection.scope["type"] == "http" and connection.scope["method"] == "POST"
        if is_post and connection.headers.get("x-csrf-token") != caller.session.csrf_token:
            return "missing or wrong X-CSRF-Token header"
        return None

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        caller: Caller = request.scope[CALLER_SCOPE_KEY]
        return Context(
            backends=self._backends,
            redis=self._redis,
            sessions=self._sessions,
            caller=caller,
            request=request,
            response=response,
        )


async def refuse(scope: Scope, receive: Receive, send: Send, status: int, message: str, code: str) -> None:
    """Refuse before GraphQL runs: a JSON error for HTTP, a close before accept (HTTP 403) for websockets."""
    if scope["type"] == "websocket":
        await WebSocket(scope, receive, send).close(code=4400 + status % 100, reason=message)
        return
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    await JSONResponse(body, status)(scope, receive, send)
