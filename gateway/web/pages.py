"""The signed-in pages: server-rendered shells in the user's language; each page's script loads its data
through GraphQL and keeps it live through the subscriptions."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from gateway.backends import Backends
from gateway.sessions import Session, SessionStore
from gateway.web.i18n import MESSAGES, language
from services.runtime.errors import NotFound, PermissionDenied
from sfcloud.v1 import tenancy_pb2

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
# path, template, and its entry in the navigation (the base template lists them in this order)
PAGES = [
    ("/", "overview.html", "overview"),
    ("/alarms", "alarms.html", "alarms"),
    ("/level", "level.html", "level"),
    ("/devices", "devices.html", "devices"),
    ("/api-keys", "api_keys.html", "api_keys"),
]


def render(request: Request, template: str, session: Session | None, status: int = 200, **extra) -> Response:
    """A template with what every page needs: the session, the language and its dictionary."""
    lang = language(request)
    context = {
        "session": session,
        "lang": lang,
        "t": MESSAGES[lang],
        "path": request.url.path,
        "pages": PAGES,
    } | extra
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status)


class Pages:
    def __init__(self, backends: Backends, sessions: SessionStore, cookie_name: str) -> None:
        self._backends = backends
        self._sessions = sessions
        self._cookie = cookie_name

    def routes(self) -> list[Route]:
        shells = [Route(path, self._shell(template, nav), methods=["GET"]) for path, template, nav in PAGES]
        return [*shells, Route("/machines/{machine_id}", self.machine, methods=["GET"])]

    def _shell(self, template: str, nav: str):
        async def page(request: Request) -> Response:
            session = await self._session(request)
            if session is None:
                return _to_login(request)
            return render(request, template, session, nav=nav)

        return page

    async def machine(self, request: Request) -> Response:
        """A machine's page, or the 404 page when the signed-in tenant has no such machine (another
        tenant's machine looks exactly like one that does not exist)."""
        session = await self._session(request)
        if session is None:
            return _to_login(request)
        machine_id = request.path_params["machine_id"]
        try:
            assets = await self._backends.call(
                self._backends.tenancy.ListAssets, tenancy_pb2.ListAssetsRequest(), session.principal
            )
        except (NotFound, PermissionDenied):
            assets = tenancy_pb2.ListAssetsResponse()
        if not any(a.id == machine_id and a.kind == tenancy_pb2.ASSET_KIND_MACHINE for a in assets.assets):
            return render(request, "not_found.html", session, status=404, nav=None)
        return render(request, "machine.html", session, nav="overview", machine_id=machine_id)

    async def _session(self, request: Request) -> Session | None:
        return await self._sessions.get(request.cookies.get(self._cookie))


def _to_login(request: Request) -> Response:
    """To the sign-in page, which comes back here afterwards (the overview needs no saying)."""
    path = request.url.path
    return RedirectResponse("/login" if path == "/" else f"/login?next={path}", status_code=303)
