"""The web app's HTTP routes: sign-in and out, the language switch, and the signed-in pages
(``pages.py``). Pages render on the server; live data comes from the GraphQL API."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from gateway.auth import client_address
from gateway.backends import Backends
from gateway.graphql.view import same_origin
from gateway.sessions import SessionStore
from gateway.web.i18n import LANG_COOKIE, MESSAGES
from gateway.web.pages import HOME, PAGES, Pages, render
from services.runtime.errors import (
    FailedPrecondition,
    InvalidArgument,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)
from services.runtime.tokens import service_principal
from sfcloud.v1 import tenancy_pb2

log = logging.getLogger(__name__)
LANG_COOKIE_S = 365 * 24 * 3600
# The published schema (introspection is on: the schema is public by design, docs/API.md).
SCHEMA_FILE = Path(__file__).parents[1] / "schema.graphql"
SUPPLIER_PAGES = {path for path, _, _ in PAGES["supplier"]}
_ROLE_NAMES = {
    tenancy_pb2.ROLE_OWNER: "owner",
    tenancy_pb2.ROLE_ADMIN: "admin",
    tenancy_pb2.ROLE_OPERATOR: "operator",
    tenancy_pb2.ROLE_VIEWER: "viewer",
}


class WebRoutes:
    def __init__(
        self,
        backends: Backends,
        sessions: SessionStore,
        cookie_name: str,
        cookie_secure: bool,
        catalog_dir: Path,
    ) -> None:
        self._backends = backends
        self._sessions = sessions
        self._cookie = cookie_name
        self._secure = cookie_secure
        self._pages = Pages(backends, sessions, cookie_name, catalog_dir)

    def routes(self) -> list[Route]:
        return [
            *self._pages.routes(),
            Route("/login", self.login_page, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/reset", self.reset_page, methods=["GET"]),
            Route("/reset", self.request_reset, methods=["POST"]),
            Route("/reset/new", self.reset, methods=["POST"]),
            Route("/invite", self.invite_page, methods=["GET"]),
            Route("/invite", self.accept_invitation, methods=["POST"]),
            Route("/lang", self.switch_language, methods=["POST"]),
            Route("/api/session", self.session_info, methods=["GET"]),
            Route("/schema.graphql", schema_file, methods=["GET"]),
        ]

    async def login_page(self, request: Request, error: str | None = None, status: int = 200) -> Response:
        """The sign-in form; ``error`` is the key of the message to show."""
        next_path = local_path(request.query_params.get("next"))
        return render(request, "login.html", None, status, error=error, next=next_path)

    async def login(self, request: Request) -> Response:
        if not same_origin(request):
            return await self.login_page(request, "login.cross_site", 403)
        form = await request.form()
        login = tenancy_pb2.LoginRequest(
            email=str(form.get("email", "")), password=str(form.get("password", ""))
        )
        to = local_path(str(form.get("next", "")))
        try:
            response = await self._backends.call(self._backends.tenancy.Login, login, _gateway(request))
            fields = _session_fields(response, to) | {
                "origin": client_address(request),
                "user_agent": request.headers.get("user-agent", "")[:200],
            }
            await self._sessions.delete(
                request.cookies.get(self._cookie)
            )  # no session lives on past a sign-in
            cookie, _ = await self._sessions.create(**fields)
        except Unauthenticated:
            return await self.login_page(request, "login.wrong", 401)
        except Unavailable:  # tenancy, or the session store
            return await self.login_page(request, "login.unavailable", 503)
        redirect = RedirectResponse(to or "/", status_code=303)
        redirect.set_cookie(
            self._cookie, cookie, httponly=True, secure=self._secure, samesite="lax", path="/"
        )
        return redirect

    async def reset_page(self, request: Request) -> Response:
        """Asking for a reset link, or (with the link's token) choosing the new password."""
        return render(request, "reset.html", None, token=request.query_params.get("token", ""))

    async def request_reset(self, request: Request) -> Response:
        """Always the same answer, whether the address has an account or not (no account enumeration)."""
        if not same_origin(request):
            return render(request, "reset.html", None, 403, error="reset.cross_site", token="")
        form = await request.form()
        asked = tenancy_pb2.RequestPasswordResetRequest(email=str(form.get("email", ""))[:320])
        try:
            await self._backends.call(self._backends.tenancy.RequestPasswordReset, asked, _gateway(request))
        except Unavailable:
            return render(request, "reset.html", None, 503, error="login.unavailable", token="")
        return render(request, "reset.html", None, sent=True, token="")

    async def reset(self, request: Request) -> Response:
        if not same_origin(request):
            return render(request, "reset.html", None, 403, error="reset.cross_site", token="")
        form = await request.form()
        token, password = str(form.get("token", "")), str(form.get("password", ""))
        chosen = tenancy_pb2.ResetPasswordRequest(token=token, new_password=password)
        try:
            await self._backends.call(self._backends.tenancy.ResetPassword, chosen, _gateway(request))
        except FailedPrecondition:
            return render(request, "reset.html", None, 400, error="reset.invalid", token="")
        except InvalidArgument:
            return render(request, "reset.html", None, 400, error="reset.weak", token=token)
        except Unavailable:
            return render(request, "reset.html", None, 503, error="login.unavailable", token=token)
        return render(request, "login.html", None, notice="reset.done", next="")

    async def invite_page(self, request: Request) -> Response:
        """The emailed invitation's page: a name and password for a new account, or an account's password."""
        return render(request, "invite.html", None, token=request.query_params.get("token", ""))

    async def accept_invitation(self, request: Request) -> Response:
        form = await request.form()
        token = str(form.get("token", ""))
        if not same_origin(request):
            return render(request, "invite.html", None, 403, error="reset.cross_site", token=token)
        accepted = tenancy_pb2.AcceptInvitationRequest(
            token=token,
            display_name=str(form.get("display_name", "")),
            password=str(form.get("password", "")),
        )
        try:
            joined = await self._backends.call(
                self._backends.tenancy.AcceptInvitation, accepted, _gateway(request)
            )
        except FailedPrecondition:
            return render(request, "invite.html", None, 400, error="invite.invalid", token=token)
        except PermissionDenied:
            return render(request, "invite.html", None, 403, error="invite.password_wrong", token=token)
        except InvalidArgument:
            return render(request, "invite.html", None, 400, error="invite.bad_input", token=token)
        except Unavailable:
            return render(request, "invite.html", None, 503, error="login.unavailable", token=token)
        # a supplier's new staff member signs in to the supplier portal, as its staff do
        next_path = HOME["supplier"] if joined.supplier_id else ""
        return render(request, "login.html", None, notice="invite.done", next=next_path)

    async def logout(self, request: Request) -> Response:
        cookie = request.cookies.get(self._cookie)
        session = await self._sessions.get(cookie)
        form = await request.form()
        if session is None or form.get("csrf_token") != session.csrf_token:
            return Response("Sign-out refused: the form was not sent from this app.", status_code=403)
        await self._sessions.delete(cookie)
        redirect = RedirectResponse("/login", status_code=303)
        redirect.delete_cookie(self._cookie, path="/", secure=self._secure, httponly=True, samesite="lax")
        return redirect

    async def switch_language(self, request: Request) -> Response:
        """Remember the chosen language and go back. A same-origin check stands in for the CSRF token,
        as on the sign-in form, because the switch is on pages without a session too."""
        if not same_origin(request):
            return Response("Refused: the form was not sent from this app.", status_code=403)
        form = await request.form()
        lang = str(form.get("lang", ""))
        redirect = RedirectResponse(local_path(str(form.get("next", ""))) or "/", status_code=303)
        if lang in MESSAGES:
            redirect.set_cookie(
                LANG_COOKIE, lang, max_age=LANG_COOKIE_S, secure=self._secure, samesite="lax", path="/"
            )
        return redirect

    async def session_info(self, request: Request) -> Response:
        session = await self._sessions.get(request.cookies.get(self._cookie))
        if session is None:
            return JSONResponse({"error": "not signed in"}, status_code=401)
        return JSONResponse(
            {
                "email": session.email,
                "displayName": session.display_name,
                "tenantName": session.tenant_name,
                "role": session.role,
                "csrfToken": session.csrf_token,
            }
        )


async def schema_file(request: Request) -> Response:
    """The GraphQL schema as a file, for code generators and for reading (the developer page links it)."""
    return FileResponse(SCHEMA_FILE, media_type="text/plain; charset=utf-8", filename="schema.graphql")


def _gateway(request: Request):
    """The gateway acting for a visitor who is not signed in, with the visitor's address for the audit log."""
    return replace(service_principal("gateway"), origin=client_address(request))


def _session_fields(response: tenancy_pb2.LoginResponse, to: str | None) -> dict:
    """The session of a user who just signed in: their first tenant, else their first supplier; their
    first supplier too when they are on their way (``to``) to a page of the supplier portal, as after
    joining a supplier's staff (a switcher between several comes with the web app's issue)."""
    to_portal = to in SUPPLIER_PAGES and bool(response.supplier_memberships)
    membership = response.memberships[0] if response.memberships and not to_portal else None
    supplier = response.supplier_memberships[0] if response.supplier_memberships and not membership else None
    return {
        "supplier_id": supplier.supplier.id if supplier else None,
        "supplier_role": supplier.role if supplier else None,
        "cell": membership.tenant.cell or "default" if membership else "default",
        "user_id": response.user.id,
        "email": response.user.email,
        "display_name": response.user.display_name,
        "tenant_id": membership.tenant.id if membership else None,
        "tenant_name": membership.tenant.name if membership else None,
        "role": _ROLE_NAMES.get(membership.role) if membership else None,
        "platform_operator": response.user.platform_operator,
    }


def local_path(target: str | None) -> str | None:
    """``target`` if it is a path on this site (after sign-in we go back there), else None: never
    another site's address (``//host``, ``https://…``), so the login page is no open redirect."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return None
