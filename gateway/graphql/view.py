"""The GraphQL endpoint: Strawberry's ASGI view with sfcloud's caller context and guards.

Callers come by session cookie (the web app) or `Authorization: Bearer <API key>`.
Cookie-authenticated requests must prove they come from our own pages: HTTP
POSTs carry the session's CSRF token in `X-CSRF-Token`, websocket upgrades
carry an `Origin` matching the host (Strawberry checks neither by itself).

GraphQL over HTTP (https://graphql.github.io/graphql-over-http/): queries by GET or POST (JSON),
mutations only by POST (GET: 405). Responses are `application/graphql-response+json` when the
Accept header asks for it, with 400 when the request failed before execution (a syntax,
validation or limit error, an unknown persisted query: no `data` entry), and `application/json`
otherwise, always 200 for a GraphQL response. Before GraphQL runs, each request is measured
against the caller's plan (`gateway/plans.py`): API keys and signed-in people over their rate get 429
(`gateway/ratelimit.py`); the operation limits are checked by `gateway/graphql/limits.py`; live
connections and subscriptions by `gateway/graphql/transport.py`.
Automatic persisted queries: `gateway/graphql/persisted.py`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import timedelta
from urllib.parse import urlsplit

import orjson
import redis.asyncio as aioredis
from cross_web import HTTPException
from graphql import GraphQLError
from starlette.requests import ClientDisconnect, HTTPConnection, Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult

from gateway.auth import Caller, GatewayAuth
from gateway.backends import Backends
from gateway.graphql.context import Context
from gateway.graphql.errors import code_for
from gateway.graphql.hub import ChannelHub
from gateway.graphql.persisted import NOT_FOUND, PersistedQueries, PersistedQueryError, requested_hash
from gateway.graphql.schema import build_schema
from gateway.graphql.transport import LimitedTransportWSHandler
from gateway.livelimits import LiveLimiter
from gateway.liverevocation import LiveWatch
from gateway.metering import ApiCallMeter
from gateway.plans import PlanLimits
from gateway.ratelimit import ApiRateLimiter
from gateway.sessions import SessionStore
from services.runtime.errors import ServiceError, Unavailable

CALLER_SCOPE_KEY = "sf.caller"
LIMITS_SCOPE_KEY = "sf.limits"
GRAPHQL_RESPONSE = "application/graphql-response+json"
# Where strawberry's GraphiQL page (strawberry/static/graphiql.html) looks for a CSRF token and sends it.
_IDE_CSRF_COOKIE = 'const csrfToken = Cookies.get("csrftoken");'
_IDE_CSRF_HEADER = 'defaultHeaders["x-csrftoken"]'


@dataclass(frozen=True)
class Guards:
    """What protects the API beyond authentication: plan limits, rate limits, live limits, persisted queries."""

    plans: PlanLimits
    rate: ApiRateLimiter
    live: LiveLimiter
    persisted: PersistedQueries


def same_origin(connection: HTTPConnection) -> bool:
    """True unless the request names an Origin other than the host it was sent to."""
    origin = connection.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == connection.headers.get("host")


def request_error(message: str, code: str) -> ExecutionResult:
    """A failure before execution: a GraphQL response without data."""
    return ExecutionResult(data=None, errors=[GraphQLError(message, extensions={"code": code})])


def is_request_error(result: ExecutionResult) -> bool:
    """Nothing was executed: no data, and no error belongs to a field (field errors have a path)."""
    return result.data is None and bool(result.errors) and all(e.path is None for e in result.errors)


class GraphQLView(GraphQL):
    graphql_transport_ws_handler_class = LimitedTransportWSHandler

    def __init__(
        self,
        backends: Backends,
        redis: aioredis.Redis,
        auth: GatewayAuth,
        sessions: SessionStore,
        meter: ApiCallMeter,
        guards: Guards,
    ) -> None:
        super().__init__(
            build_schema(),
            allow_queries_via_get=True,
            subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
            connection_init_wait_timeout=timedelta(seconds=10),
            keep_alive=True,
            keep_alive_interval=15,
        )
        self._backends = backends
        self._redis = redis
        self._hub = ChannelHub(redis)
        self._auth = auth
        self._sessions = sessions
        self._meter = meter
        self._guards = guards
        self._revocation = LiveWatch(backends, sessions, auth)

    async def close(self) -> None:
        """End the subscriptions' shared pub/sub connection and the live sockets' checks (at shutdown)."""
        self._revocation.close()
        await self._hub.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        connection = HTTPConnection(scope)
        try:
            caller = await self._auth.caller(connection)
            limits = await self._guards.plans.of(caller.principal)
        except ServiceError as error:
            status = 503 if isinstance(error, Unavailable) else 401
            await refuse(scope, receive, send, status, error.message, code_for(error))
            return
        refusal = self._refusal(connection, caller)
        if refusal is not None:
            await refuse(scope, receive, send, 403, refusal, "FORBIDDEN")
            return
        verdict = await self._guards.rate.check(caller.principal, limits)
        if not verdict.allowed:
            message = f"over your plan's {verdict.limit:,} requests a minute; retry later"
            await refuse(scope, receive, send, 429, message, "RATE_LIMITED", verdict.headers)
            return
        scope[CALLER_SCOPE_KEY], scope[LIMITS_SCOPE_KEY] = caller, limits
        if caller.principal is not None:
            self._meter.count(caller.principal.tenant_id)
        try:
            await super().__call__(scope, receive, with_headers(send, verdict.headers))
        except (
            ClientDisconnect
        ):  # the client went away (a page left) before its body arrived: no one to answer
            return

    @property
    def live(self) -> LiveLimiter:
        return self._guards.live

    @property
    def revocation(self) -> LiveWatch:
        return self._revocation

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
            hub=self._hub,
            sessions=self._sessions,
            caller=caller,
            limits=request.scope[LIMITS_SCOPE_KEY],
            request=request,
            response=response,
        )

    async def render_graphql_ide(self, request: Request) -> Response:
        """GraphiQL for signed-in users only (others go to sign in first); a session's page sends the
        session's CSRF token, which strawberry's page would look for in a cookie we do not set."""
        caller: Caller = request.scope[CALLER_SCOPE_KEY]
        if caller.principal is None:
            return RedirectResponse("/login?next=/graphql", status_code=303)
        html = self.graphql_ide_html
        if caller.by_cookie:
            html = html.replace(
                _IDE_CSRF_COOKIE, f"const csrfToken = {json.dumps(caller.session.csrf_token)};"
            )
            html = html.replace(_IDE_CSRF_HEADER, 'defaultHeaders["x-csrf-token"]')
        return HTMLResponse(html)

    def should_render_graphql_ide(self, request) -> bool:
        """GraphiQL for a browser's GET without an operation; a GET naming a persisted query runs it."""
        return "extensions" not in request.query_params and super().should_render_graphql_ide(request)

    async def execute_single(
        self, request, request_adapter, sub_response, context: Context, root_value, request_data
    ) -> ExecutionResult:
        try:
            request_data = await self._persisted(context, request_data)
        except PersistedQueryError as error:
            return request_error(str(error), "BAD_USER_INPUT")
        if request_data is None:
            return request_error(NOT_FOUND, "PERSISTED_QUERY_NOT_FOUND")
        try:
            return await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        except HTTPException as error:
            if isinstance(error.__cause__, InvalidOperationTypeError) and request_adapter.method == "GET":
                raise HTTPException(405, "mutations are sent by POST") from error
            raise

    async def _persisted(self, context: Context, data: GraphQLRequestData) -> GraphQLRequestData | None:
        """The request with its persisted query filled in; None when the hash is unknown here."""
        sha = requested_hash(data.extensions)
        if sha is None:
            return data
        tenant = context.caller.principal.tenant_id if context.caller.principal else None
        query = await self._guards.persisted.resolve(tenant, sha, data.query)
        return replace(data, query=query) if query is not None else None

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        response = await super().process_result(request, result)
        if is_request_error(result):
            response.pop("data", None)
        return response

    async def get_sub_response(self, request: Request) -> Response:
        sub_response = await super().get_sub_response(request)
        wanted = GRAPHQL_RESPONSE in request.headers.get("accept", "")
        sub_response.media_type = GRAPHQL_RESPONSE if wanted else "application/json"
        return sub_response

    def create_response(self, response_data: GraphQLHTTPResponse, sub_response: Response) -> Response:
        status = sub_response.status_code or 200
        if sub_response.media_type == GRAPHQL_RESPONSE and "data" not in response_data:
            status = 400  # a list (a batch) always holds "data" entries
        response = Response(json_body(response_data), status, media_type=sub_response.media_type)
        response.headers.raw.extend(sub_response.headers.raw)
        response.background = sub_response.background
        return response


def json_body(data: object) -> bytes:
    """An answer as JSON: orjson writes a 50,000-bucket answer in 3 ms where the standard library took 61
    (of ~0.5 s for the whole request, 2026-12-07); an integer past 64 bits (a refused query's cost can be
    one) it does not write, so such an answer goes through the standard library."""
    try:
        return orjson.dumps(data)
    except TypeError:
        return json.dumps(data, separators=(",", ":")).encode()


def with_headers(send: Send, headers: dict[str, str]) -> Send:
    """``send`` adding ``headers`` to the response, and `Allow` to a 405."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            extra = dict(headers, allow="GET, POST") if message["status"] == 405 else headers
            message["headers"] = [
                *message.get("headers", []),
                *((k.encode(), v.encode()) for k, v in extra.items()),
            ]
        await send(message)

    return sending


async def refuse(
    scope: Scope,
    receive: Receive,
    send: Send,
    status: int,
    message: str,
    code: str,
    headers: dict[str, str] | None = None,
) -> None:
    """Refuse before GraphQL runs: a JSON error for HTTP, a close before accept (HTTP 403) for websockets."""
    if scope["type"] == "websocket":
        await WebSocket(scope, receive, send).close(code=4400 + status % 100, reason=message)
        return
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    await JSONResponse(body, status, headers=headers)(scope, receive, send)
