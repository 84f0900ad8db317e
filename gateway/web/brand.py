"""Which brand a web request sees, and the brand's stylesheet and logo.

A signed-in session sees its supplier's brand (a tenant's people their tenant's supplier's); before sign-in,
the request's Host picks it (a supplier's own domain, docs/DEPLOY.md); otherwise sfcloud's. Colours reach
the pages only through ``/brand.css`` (no inline styles under the CSP), keyed on the same host or session
and revalidated with an ETag; the logo, stored in tenancy as checked PNG or JPEG bytes, is served with its
own type, ``nosniff`` and a sandboxing CSP, so it can only ever be an image.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.backends import Backends
from gateway.sessions import Session, SessionStore
from services.runtime.errors import Unavailable
from services.runtime.tokens import service_principal
from sfcloud.v1 import tenancy_pb2 as pb

CACHE_S = 30.0  # how long a brand change may take to show
CACHE_ENTRIES = 10_000
# Pages and forms get a brand; the API, assets and probes never need one.
UNBRANDED = ("/static/", "/graphql", "/healthz", "/readyz", "/api/", "/exports/", "/reports/")
LOGO_CSP = "default-src 'none'; sandbox"
# What a branded header looks like (app.css draws sfcloud's): white text on the primary colour.
_BRANDED_CSS = """:root {{ --accent: {accent}; --brand: {primary}; }}
.top {{ background: var(--brand); border-bottom-color: var(--brand); color: #fff; }}
.top a, .top .pages a, .top button.link, .top .brand {{ color: #fff; }}
.top .pages a[aria-current="page"] {{ background: rgba(255, 255, 255, 0.2); color: #fff; }}
"""


@dataclass(frozen=True)
class WebBrand:
    name: str
    stylesheet: str
    logo: bytes = b""
    logo_type: str = ""
    version: int = 0

    @property
    def has_logo(self) -> bool:
        return bool(self.logo)

    @property
    def css_etag(self) -> str:
        return '"' + hashlib.sha256(self.stylesheet.encode()).hexdigest()[:32] + '"'

    @property
    def logo_etag(self) -> str:
        return '"' + hashlib.sha256(self.logo).hexdigest()[:32] + '"'

    @classmethod
    def from_pb(cls, brand: pb.Brand) -> WebBrand:
        css = f"/* {brand.product_name.replace('*/', '')} */\n" + _BRANDED_CSS.format(
            accent=brand.accent_colour, primary=brand.primary_colour
        )  # the colours are #rrggbb, checked by tenancy
        return cls(brand.product_name, css, brand.logo, brand.logo_type, brand.updated_at_ns)


DEFAULT = WebBrand("sfcloud", "/* sfcloud: app.css's own colours */\n")


class BrandResolver:
    """The brand of a request, from a short in-process cache (brands change rarely; every page needs one)."""

    def __init__(self, backends: Backends, sessions: SessionStore, cookie_name: str) -> None:
        self._backends = backends
        self._sessions = sessions
        self._cookie = cookie_name
        self._cache: dict[tuple[str, str], tuple[float, WebBrand]] = {}

    async def of(self, request: Request) -> WebBrand:
        try:
            session = await self._sessions.get(request.cookies.get(self._cookie))
        except (
            Unavailable
        ):  # the session store is down: the host's brand; a page needing the session says 503
            session = None
        if session is not None:
            return await self._cached(("session", _organisation(session)), self._of_session, session)
        host = (request.url.hostname or "").lower()
        return await self._cached(("host", host), self._of_host, host)

    async def _cached(self, key: tuple[str, str], load, arg) -> WebBrand:
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit and hit[0] > now:
            return hit[1]
        try:
            brand = await load(arg)
        except Unavailable:
            return hit[1] if hit else DEFAULT  # tenancy down: the last known brand, else sfcloud's
        if len(self._cache) >= CACHE_ENTRIES:
            self._cache.clear()
        self._cache[key] = (now + CACHE_S, brand)
        return brand

    async def _of_session(self, session: Session) -> WebBrand:
        found = await self._backends.call(
            self._backends.tenancy.GetBrand, pb.GetBrandRequest(), session.principal
        )
        return WebBrand.from_pb(found.brand) if found.HasField("brand") else DEFAULT

    async def _of_host(self, host: str) -> WebBrand:
        if not host:
            return DEFAULT
        found = await self._backends.call(
            self._backends.tenancy.FindBrandByDomain,
            pb.FindBrandByDomainRequest(domain=host),
            service_principal("gateway"),
        )
        return WebBrand.from_pb(found.brand) if found.HasField("brand") else DEFAULT


def _organisation(session: Session) -> str:
    """Whose brand a session sees: sessions of one tenant (or supplier) share a cache entry."""
    if session.tenant_id:
        return f"tenant:{session.tenant_id}"
    return f"supplier:{session.supplier_id}" if session.supplier_id else "none"


def brand_of(request: Request) -> WebBrand:
    """The brand the middleware found for this request (sfcloud's where it looked for none)."""
    return request.scope.get("state", {}).get("brand", DEFAULT)


class BrandMiddleware:
    """Finds the brand of each page request before it is handled, so rendering stays synchronous."""

    def __init__(self, app, resolver: BrandResolver) -> None:
        self.app = app
        self._resolver = resolver

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(UNBRANDED):
            scope.setdefault("state", {})["brand"] = await self._resolver.of(Request(scope))
        await self.app(scope, receive, send)


async def stylesheet(request: Request) -> Response:
    brand = brand_of(request)
    return _revalidated(request, brand.stylesheet.encode(), "text/css; charset=utf-8", brand.css_etag)


async def logo(request: Request) -> Response:
    brand = brand_of(request)
    if not brand.has_logo:
        return Response("no logo", status_code=404, media_type="text/plain")
    response = _revalidated(request, brand.logo, brand.logo_type, brand.logo_etag)
    response.headers["content-security-policy"] = LOGO_CSP
    response.headers["content-disposition"] = "inline"
    return response


def _revalidated(request: Request, body: bytes, media_type: str, etag: str) -> Response:
    """Cached by the browser, asked again each time (the brand depends on the host and the session)."""
    headers = {"etag": etag, "cache-control": "private, no-cache", "vary": "Host, Cookie"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


ROUTES = [Route("/brand.css", stylesheet, methods=["GET"]), Route("/brand/logo", logo, methods=["GET"])]
