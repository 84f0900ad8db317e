"""Composition root of the gateway: Redis, service clients, sessions, GraphQL and its guards, pages,
export downloads, plant reports, tracing, the request size limit."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import plotly
import uvicorn
from grpc_health.v1 import health_pb2
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from gateway.auth import GatewayAuth
from gateway.backends import Backends
from gateway.bodylimit import BodyLimit
from gateway.config import KEEP_ALIVE_S, GatewaySettings
from gateway.downloads import ExportDownloads
from gateway.graphql.persisted import PersistedQueries
from gateway.graphql.view import GraphQLView, Guards
from gateway.livelimits import LiveLimiter
from gateway.metering import ApiCallMeter
from gateway.plans import PlanLimits, load_limits
from gateway.ratelimit import ApiRateLimiter
from gateway.reports import PlantReports
from gateway.sessions import SessionStore
from gateway.web.brand import ROUTES as BRAND_ROUTES
from gateway.web.brand import BrandMiddleware, BrandResolver
from gateway.web.routes import WebRoutes
from services.runtime.errors import Unavailable
from services.runtime.memory import freeze_startup_objects
from services.runtime.redis_pool import redis_client

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "web" / "static"
PLOTLY_DIR = Path(plotly.__file__).parent / "package_data"
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
}


class SecurityHeaders:
    """Adds the security headers to every HTTP response."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        async def with_headers(message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"].extend((k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items())
            await send(message)

        await self.app(scope, receive, with_headers if scope["type"] == "http" else send)


async def _http_error(request: Request, exc: HTTPException) -> Response:
    return PlainTextResponse(f"{exc.status_code}: {exc.detail}", status_code=exc.status_code)


async def _unavailable(request: Request, exc: Unavailable) -> Response:
    """A dependency is down (tenancy, or Redis for the session): the page can be asked again shortly."""
    return PlainTextResponse(f"503: {exc.message}", status_code=503, headers={"retry-after": "5"})


async def _server_error(request: Request, exc: Exception) -> Response:
    log.error("unexpected HTTP error", exc_info=exc)
    return PlainTextResponse("500: something went wrong on our side; please try again.", status_code=500)


def server_config(settings: GatewaySettings) -> uvicorn.Config:
    """How the gateway is served, the same under `sf serve gateway` and in-process."""
    return uvicorn_config(create_app(settings), settings.host, settings.port, settings.keep_alive_s)


def uvicorn_config(app, host: str, port: int, keep_alive_s: int = KEEP_ALIVE_S) -> uvicorn.Config:
    """The gateway's uvicorn settings (`sf bench` serves its bare baseline endpoint with them too).

    An idle keep-alive connection is closed after ``keep_alive_s``; a request sent on it as it closes
    fails with no answer. Clients drop theirs sooner (httpx and browsers: 5-60 s), so 75 s leaves the
    closing to them; behind a load balancer it must exceed the balancer's idle timeout (Terraform sets it).
    uvicorn's own 5 s met httpx's 5 s: the soak saw 2 such failures in 105,000 queries."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        ws="websockets-sansio",
        # No permessage-deflate: its compression state costs ~50 KB per open live socket for
        # messages of a few hundred bytes (RELIABILITY G3: 1,000 idle sockets under 200 MB).
        ws_per_message_deflate=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
        timeout_keep_alive=keep_alive_s,
        server_header=False,
    )


def create_app(settings: GatewaySettings) -> Starlette:
    redis = redis_client(settings.redis_url, settings.redis_timeout_s)
    backends = Backends(
        settings.tenancy_target, settings.analytics_target, settings.worker_target, settings.signing_key
    )
    sessions = SessionStore(
        redis, settings.session_idle_s, settings.session_max_s, settings.session_admin_idle_s
    )
    meter = ApiCallMeter(backends, settings.usage_interval_s)
    guards = Guards(
        PlanLimits(backends, load_limits(settings.catalog_dir)),
        ApiRateLimiter(redis),
        LiveLimiter(redis),
        PersistedQueries(redis),
    )
    auth = GatewayAuth(backends, sessions, settings.cookie_name)
    graphql = GraphQLView(backends, redis, auth, sessions, meter, guards)
    web = WebRoutes(backends, sessions, settings.cookie_name, settings.cookie_secure, settings.catalog_dir)
    brands = BrandResolver(backends, sessions, settings.cookie_name)
    downloads = ExportDownloads(backends, auth)
    reports = PlantReports(backends, auth)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        try:
            await redis.ping()
            for channel_stub in (backends.tenancy_health, backends.query_health):
                reply = await channel_stub.Check(health_pb2.HealthCheckRequest(), timeout=2)
                if reply.status != health_pb2.HealthCheckResponse.SERVING:
                    raise RuntimeError("a service is not serving")
        except Exception as exc:  # any failing dependency means not ready
            return JSONResponse({"status": "unavailable", "reason": type(exc).__name__}, status_code=503)
        return JSONResponse({"status": "ready"})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        backends.open()
        metering = asyncio.create_task(meter.run())
        freeze_startup_objects()
        yield
        metering.cancel()
        await meter.flush()
        await backends.close()
        await graphql.close()
        await redis.aclose()

    return Starlette(
        routes=[
            *web.routes(),
            *BRAND_ROUTES,
            *downloads.routes(),
            *reports.routes(),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Mount("/static/vendor", StaticFiles(directory=PLOTLY_DIR), name="vendor"),
            Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
        ],
        middleware=[
            Middleware(OpenTelemetryMiddleware),
            Middleware(SecurityHeaders),
            Middleware(BodyLimit, max_bytes=settings.max_body_bytes),
            Middleware(BrandMiddleware, resolver=brands),
        ],
        exception_handlers={HTTPException: _http_error, Unavailable: _unavailable, Exception: _server_error},
        lifespan=lifespan,
    )
