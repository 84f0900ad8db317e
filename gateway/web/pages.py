"""The signed-in pages: server-rendered shells in the user's language; each page's script loads its data
through GraphQL and keeps it live through the subscriptions. Each kind of user has its own pages: a
tenant's people the plant, a supplier's staff the supplier portal, the platform operator the operator
portal; another kind's page is the 404 page."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from gateway.backends import Backends
from gateway.sessions import Session, SessionStore
from gateway.web.brand import brand_of
from gateway.web.i18n import MESSAGES, language
from services.runtime.errors import InvalidArgument, NotFound, PermissionDenied
from services.tenancy.catalog import load_plans, load_templates
from sfcloud.v1 import tenancy_pb2, tickets_pb2

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
# Each kind of user's pages: path, template, and its entry in the navigation (listed in this order).
PAGES = {
    "tenant": [
        ("/", "overview.html", "overview"),
        ("/alarms", "alarms.html", "alarms"),
        ("/oee", "oee.html", "oee"),
        ("/spc", "spc.html", "spc"),
        ("/level", "level.html", "level"),
        ("/devices", "devices.html", "devices"),
        ("/api-keys", "api_keys.html", "api_keys"),
        ("/sharing", "sharing.html", "sharing"),
        ("/team", "team.html", "team"),
        ("/developer", "developer.html", "developer"),
        ("/suppliers", "suppliers.html", "suppliers"),
        ("/tickets", "tickets.html", "tickets"),
        ("/exports", "exports.html", "exports"),
    ],
    "supplier": [
        ("/supplier", "supplier_tenants.html", "supplier_tenants"),
        ("/supplier/usage", "supplier_usage.html", "supplier_usage"),
        ("/supplier/tickets", "supplier_tickets.html", "supplier_tickets"),
        ("/supplier/requests", "supplier_requests.html", "supplier_requests"),
        ("/supplier/shared", "supplier_shared.html", "supplier_shared"),
        ("/supplier/staff", "supplier_staff.html", "supplier_staff"),
        ("/supplier/brand", "supplier_brand.html", "supplier_brand"),
    ],
    "operator": [
        ("/operator", "operator_tenants.html", "operator_tenants"),
        ("/operator/utilisation", "operator_utilisation.html", "operator_utilisation"),
        ("/operator/reports", "operator_reports.html", "operator_reports"),
        ("/operator/audit", "operator_audit.html", "operator_audit"),
    ],
}
HOME = {kind: pages[0][0] for kind, pages in PAGES.items()}
# Pages whose query may name one of the tenant's things (``/oee?asset=…``, ``/spc?series=…``): naming one
# the tenant does not have, another tenant's included, makes them the 404 page, as a machine's page is.
NAMED_IN_QUERY = {"/oee": "asset", "/spc": "series"}
# Entries used now and then go under the navigation's "More" menu, in groups, so that the bar stays one
# line: nav entry -> its group there (the groups in this order; the API explorer ends the developers').
MORE = {
    "sharing": "company",
    "suppliers": "company",
    "exports": "company",
    "team": "company",
    "api_keys": "developers",
    "developer": "developers",
    "supplier_staff": "company",
    "supplier_brand": "company",
}


def kind_of(session: Session) -> str:
    """Whose pages the user sees: the operator's, else a supplier's staff's, else a tenant's."""
    if session.platform_operator:
        return "operator"
    return "supplier" if session.supplier_id and not session.tenant_id else "tenant"


def render(request: Request, template: str, session: Session | None, status: int = 200, **extra) -> Response:
    """A template with what every page needs: the session, the language and its dictionary."""
    lang = language(request)
    kind = kind_of(session) if session else None
    context = {
        "session": session,
        "kind": kind,
        "lang": lang,
        "t": MESSAGES[lang],
        "path": request.url.path,
        "pages": PAGES.get(kind, []),
        "more": MORE,
        "brand": brand_of(request),
    } | extra
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status)


class Pages:
    def __init__(
        self, backends: Backends, sessions: SessionStore, cookie_name: str, catalog_dir: Path
    ) -> None:
        self._backends = backends
        self._sessions = sessions
        self._cookie = cookie_name
        # what a supplier may create a tenant from (the create form's choices)
        self._catalog = {
            "plans": list(load_plans(catalog_dir)),
            "templates": list(load_templates(catalog_dir)),
        }

    def routes(self) -> list[Route]:
        shells = [
            Route(path, self._shell(kind, template, nav), methods=["GET"])
            for kind, pages in PAGES.items()
            for path, template, nav in pages
        ]
        return [
            *shells,
            Route("/machines/{machine_id}", self.machine, methods=["GET"]),
            Route("/tickets/{ticket_id}", self.ticket, methods=["GET"]),
        ]

    def _shell(self, kind: str, template: str, nav: str):
        async def page(request: Request) -> Response:
            session = await self._session(request)
            if session is None:
                return _to_login(request)
            if kind_of(session) != kind:
                # the home page sends each kind to its own; any other page of another kind does not exist for it
                if request.url.path == "/":
                    return RedirectResponse(HOME[kind_of(session)], status_code=303)
                return render(request, "not_found.html", session, status=404, nav=None)
            if not await self._names_its_own(request, session):
                return render(request, "not_found.html", session, status=404, nav=None)
            return render(request, template, session, nav=nav, catalog=self._catalog)

        return page

    async def machine(self, request: Request) -> Response:
        """A machine's page, or the 404 page when the signed-in tenant has no such machine (another
        tenant's machine looks exactly like one that does not exist)."""
        session = await self._session(request)
        if session is None:
            return _to_login(request)
        if kind_of(session) != "tenant":
            return render(request, "not_found.html", session, status=404, nav=None)
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

    async def ticket(self, request: Request) -> Response:
        """A ticket's page, or the 404 page when the signed-in tenant has no such ticket (tenancy shows a
        tenant only its own: another tenant's ticket is not found, as a malformed id is)."""
        session = await self._session(request)
        if session is None:
            return _to_login(request)
        if kind_of(session) != "tenant":
            return render(request, "not_found.html", session, status=404, nav=None)
        ticket_id = request.path_params["ticket_id"]
        try:
            asked = tickets_pb2.GetTicketRequest(ticket_id=ticket_id)
            await self._backends.call(self._backends.tickets.GetTicket, asked, session.principal)
        except (NotFound, PermissionDenied, InvalidArgument):
            return render(request, "not_found.html", session, status=404, nav=None)
        return render(request, "ticket.html", session, nav="tickets", ticket_id=ticket_id)

    async def _names_its_own(self, request: Request, session: Session) -> bool:
        """False when the page's query names an asset or series the signed-in tenant does not have."""
        param = NAMED_IN_QUERY.get(request.url.path)
        wanted = request.query_params.get(param) if param else None
        if not wanted:
            return True
        tenancy = self._backends.tenancy
        try:
            if param == "series":
                asked = tenancy_pb2.ListSeriesRequest(series_ids=[wanted])
                found = await self._backends.call(tenancy.ListSeries, asked, session.principal)
                return any(s.id == wanted for s in found.series)
            found = await self._backends.call(
                tenancy.ListAssets, tenancy_pb2.ListAssetsRequest(), session.principal
            )
            return any(a.id == wanted for a in found.assets)
        except (NotFound, PermissionDenied, InvalidArgument):
            return False

    async def _session(self, request: Request) -> Session | None:
        return await self._sessions.get(request.cookies.get(self._cookie))


def _to_login(request: Request) -> Response:
    """To the sign-in page, which comes back here afterwards (the overview needs no saying)."""
    path = request.url.path
    return RedirectResponse("/login" if path == "/" else f"/login?next={path}", status_code=303)
