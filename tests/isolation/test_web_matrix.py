"""The cross-tenant matrix over the gateway's HTTP routes and its websocket (RELIABILITY I1, §1.3): every route
the Starlette app serves x {A's session, A's API key, B's session, B's API key, no credentials}, asking with
tenant A's object ids where a route takes one.

The routes are read from the app itself, so a route without a row fails the test. Where a URL names one of A's
objects, B (and anyone not signed in) must get exactly the answer it gets for an id that does not exist:
the same status and the same body, byte for byte once the asked id is blanked out (the 404 page for pages).
No answer to anyone but A may hold A's ids, name or owner, beyond what the caller sent itself.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field

import grpc
import httpx
import pytest
import websockets
from starlette.routing import Mount, Route, WebSocketRoute

from gateway.app import create_app
from gateway.config import GatewaySettings
from services.runtime.principal import Kind, Principal, Role
from sf.seeding import create_tenant, send_batches
from sfcloud.v1 import tenancy_pb2 as pb
from sfcloud.v1 import tenancy_pb2_grpc
from tests.control_plane import Tenancy
from tests.e2e.provision import session_cookie
from tests.e2e.test_bad_input import batch

CALLERS = ("a_session", "a_key", "b_session", "b_key", "anonymous")
STRANGERS = ("b_session", "b_key", "anonymous")  # everyone but A
DENIED = {"UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND"}
SIGN_IN = 303  # pages send whoever is not signed in (an API key opens no page) to the sign-in form
FOREIGN_ORIGIN = "https://attacker.example"


@dataclass(frozen=True)
class WebRow:
    """What each caller gets from one route. ``url`` is what is asked (the route's path when empty), with
    {machine}, {series}, {site}, {ticket}, {export} for A's objects; ``target`` names the one whose
    replacement by a random id must change nothing in a stranger's answer."""

    status: dict[str, int]
    url: str = ""
    target: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    query: str = ""  # a GraphQL document POSTed as JSON, with the same placeholders
    graphql: bool = False  # strangers' answers are GraphQL errors (UNAUTHENTICATED, FORBIDDEN, NOT_FOUND)


def tenant_page(url: str = "", target: str = "") -> WebRow:
    """A page of a tenant's people: A's own, B its own (or the 404 page for A's object), the rest sign in."""
    b = 404 if target else 200
    status = {"a_session": 200, "a_key": SIGN_IN, "b_session": b, "b_key": SIGN_IN, "anonymous": SIGN_IN}
    return WebRow(status, url, target)


def others_page() -> WebRow:
    """A page of a supplier's staff or the operator: a tenant's people get the 404 page."""
    status = {"a_session": 404, "a_key": SIGN_IN, "b_session": 404, "b_key": SIGN_IN, "anonymous": SIGN_IN}
    return WebRow(status)


def public(status: int = 200, url: str = "") -> WebRow:
    return WebRow(dict.fromkeys(CALLERS, status), url)


def cross_site_form() -> WebRow:
    """A form posted from another site: refused for everyone before it is read (sign-out: no CSRF token)."""
    return WebRow(dict.fromkeys(CALLERS, 403), headers={"origin": FOREIGN_ORIGIN})


def download(url: str, target: str) -> WebRow:
    """A file of A's, for A's session or key; B's is 404 alike for A's id and none; 401 without credentials."""
    status = {"a_session": 200, "a_key": 200, "b_session": 404, "b_key": 404, "anonymous": 401}
    return WebRow(status, url, target)


def graphql(url: str = "", target: str = "", query: str = "") -> WebRow:
    return WebRow(dict.fromkeys(CALLERS, 200), url, target, query=query, graphql=True)


TICKET = '{ ticket(id: "{ticket}") { ticket { id subject } } }'

ROWS: dict[tuple[str, str], WebRow] = {
    ("GET", "/"): tenant_page(),
    ("GET", "/alarms"): tenant_page(),
    ("GET", "/oee"): tenant_page("/oee?asset={machine}", "machine"),
    ("GET", "/spc"): tenant_page("/spc?series={series}", "series"),
    ("GET", "/level"): tenant_page(),
    ("GET", "/devices"): tenant_page(),
    ("GET", "/api-keys"): tenant_page(),
    ("GET", "/sharing"): tenant_page(),
    ("GET", "/team"): tenant_page(),
    ("GET", "/developer"): tenant_page(),
    ("GET", "/suppliers"): tenant_page(),
    ("GET", "/tickets"): tenant_page(),
    ("GET", "/exports"): tenant_page(),
    ("GET", "/machines/{machine_id}"): tenant_page("/machines/{machine}", "machine"),
    ("GET", "/tickets/{ticket_id}"): tenant_page("/tickets/{ticket}", "ticket"),
    ("GET", "/supplier"): others_page(),
    ("GET", "/supplier/usage"): others_page(),
    ("GET", "/supplier/tickets"): others_page(),
    ("GET", "/supplier/brand"): others_page(),
    ("GET", "/supplier/requests"): others_page(),
    ("GET", "/supplier/shared"): others_page(),
    ("GET", "/supplier/staff"): others_page(),
    ("GET", "/operator"): others_page(),
    ("GET", "/operator/utilisation"): others_page(),
    ("GET", "/operator/reports"): others_page(),
    ("GET", "/operator/audit"): others_page(),
    ("GET", "/login"): public(url="/login?next=/machines/{machine}"),
    ("GET", "/reset"): public(),
    ("GET", "/invite"): public(),
    ("POST", "/login"): cross_site_form(),
    ("POST", "/logout"): cross_site_form(),
    ("POST", "/reset"): cross_site_form(),
    ("POST", "/reset/new"): cross_site_form(),
    ("POST", "/invite"): cross_site_form(),
    ("POST", "/lang"): cross_site_form(),
    ("GET", "/api/session"): WebRow(
        {"a_session": 200, "a_key": 401, "b_session": 200, "b_key": 401, "anonymous": 401}
    ),
    ("GET", "/schema.graphql"): public(),
    # Each sees its own brand: sfcloud's here (neither A's supplier nor B's has one), and no logo.
    ("GET", "/brand.css"): public(),
    ("GET", "/brand/logo"): public(404),
    ("GET", "/exports/{export_id}/package"): download("/exports/{export}/package", "export"),
    ("GET", "/reports/plant"): download(
        "/reports/plant?site={site}&period=day&date=2026-12-01&format=csv", "site"
    ),
    ("GET", "/healthz"): public(),
    ("GET", "/readyz"): public(),
    ("GET", "/graphql"): graphql("/graphql?query=" + urllib.parse.quote(TICKET, safe="{}"), "ticket"),
    ("POST", "/graphql"): graphql(target="ticket", query=TICKET),
    ("GET", "/static/vendor/{path}"): public(url="/static/vendor/plotly.min.js"),
    ("GET", "/static/{path}"): public(url="/static/app.css"),
}
# The websocket's subscriptions: B's subscription to A's series is answered as one to a series that does not
# exist; without credentials the subscription is refused.
WEBSOCKETS = {"/graphql": 'subscription { liveValues(seriesIds: ["{series}"]) { seriesId value } }'}


def served_routes() -> set[tuple[str, str]]:
    """Every (method, path) the gateway's app serves, websockets as WS, static mounts as ``/mount/{path}``."""
    settings = GatewaySettings(
        host="127.0.0.1",
        port=0,
        tenancy_target="127.0.0.1:1",
        analytics_target="127.0.0.1:1",
        redis_url="redis://127.0.0.1:1",
        signing_key="k" * 48,
    )
    served = set()
    for route in create_app(settings).routes:
        if isinstance(route, WebSocketRoute):
            served.add(("WS", route.path))
        elif isinstance(route, Mount):
            served.add(("GET", f"{route.path}/{{path}}"))
        elif isinstance(route, Route):
            served |= {(method, route.path) for method in route.methods - {"HEAD"}}
    return served


def test_every_route_has_a_row():
    """RELIABILITY I1: every HTTP route and websocket of the gateway has a row in the web matrix."""
    rows = set(ROWS) | {("WS", path) for path in WEBSOCKETS}
    assert served_routes() - rows == set(), "add a row to ROWS (or WEBSOCKETS) for each new route"
    assert rows - served_routes() == set(), "a row for a route the gateway no longer serves"


@dataclass
class WebWorld:
    a: object
    b: object
    ids: dict[str, str]  # A's objects by placeholder name
    headers: dict[str, dict[str, str]]
    keys: dict[str, str]

    def a_data(self) -> set[str]:
        """What only A and those acting for it may see: its ids, name and owner."""
        return {*self.ids.values(), str(self.a.id), self.a.owner_email}


async def _signed_in(gateway_url: str, tenant) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=gateway_url, timeout=30) as http:
        response = await http.post(
            "/login", data={"email": tenant.owner_email, "password": tenant.owner_password}
        )
        cookie = session_cookie(response)
        csrf = (await http.get("/api/session", headers={"cookie": cookie})).json()["csrfToken"]
    return {"cookie": cookie, "x-csrf-token": csrf}


async def _read_key(tenancy: Tenancy, tenant) -> str:
    owner = Principal(Kind.USER, "owner", tenant_id=tenant.id, role=Role.OWNER)
    request = pb.CreateApiKeyRequest(name=f"web-matrix-{time.time_ns()}", scopes=["read"])
    return (await tenancy.call("CreateApiKey", request, owner)).key


async def _gql(http: httpx.AsyncClient, headers: dict, query: str) -> dict:
    response = await http.post("/graphql", json={"query": query}, headers=headers)
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


async def _finished_export(http: httpx.AsyncClient, headers: dict) -> str:
    export_id = (await _gql(http, headers, "mutation { startExport { id } }"))["startExport"]["id"]
    for _ in range(600):
        state = (await _gql(http, headers, f'{{ export(id: "{export_id}") {{ state }} }}'))["export"]["state"]
        if state == "DONE":
            return export_id
        assert state in ("QUEUED", "RUNNING"), state
        await asyncio.sleep(0.05)
    raise AssertionError(f"A's export {export_id} did not finish")


@pytest.fixture(scope="module")
async def web_world(stack, signer) -> WebWorld:
    """Tenants A and B (each with an owner signed in and a read key); A with a machine, series and points, a
    ticket and a finished export."""
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
        supplier = (await Tenancy(tenancy_pb2_grpc.TenancyServiceStub(channel), signer).supplier("Web S"))[0]
    a = await create_tenant(stack.targets["tenancy"], signer, "Web A", supplier_id=supplier.id)
    b = await create_tenant(stack.targets["tenancy"], signer, "Web B")
    now = time.time_ns()
    await send_batches(
        stack.targets["ingest"], a.credential, [batch(a.series_ids[0], [now - 10**9, now], [1.0, 2.0])]
    )
    headers = {
        "a_session": await _signed_in(stack.gateway_url, a),
        "b_session": await _signed_in(stack.gateway_url, b),
    }
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
        tenancy = Tenancy(tenancy_pb2_grpc.TenancyServiceStub(channel), signer)
        keys = {"a_key": await _read_key(tenancy, a), "b_key": await _read_key(tenancy, b)}
    headers |= {name: {"authorization": f"Bearer {key}"} for name, key in keys.items()}
    headers["anonymous"] = {}
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as http:
        a_headers = headers["a_session"]
        assets = (await _gql(http, a_headers, "{ assets { id parentId } }"))["assets"]
        opened = 'mutation { openTicket(subject: "web matrix") { ticket { id } errors { code } } }'
        ticket = await _gql(http, a_headers, opened)
        export_id = await _finished_export(http, a_headers)
    ids = {
        "machine": a.machine_id,
        "series": a.series_ids[0],
        "site": next(asset["id"] for asset in assets if asset["parentId"] is None),
        "ticket": ticket["openTicket"]["ticket"]["id"],
        "export": export_id,
    }
    return WebWorld(a, b, ids, headers, keys)


def _filled(template: str, ids: dict[str, str]) -> str:
    for name, value in ids.items():
        template = template.replace("{" + name + "}", value)
    return template


@dataclass(frozen=True)
class Answer:
    status: int
    location: str
    body: str

    def blanked(self, asked: str) -> Answer:
        """The answer with the asked id (as sent, and URL-quoted) blanked out."""
        quoted = urllib.parse.quote(asked, safe="")

        def blank(text: str) -> str:
            return text.replace(asked, "<id>").replace(quoted, "<id>")

        return Answer(self.status, blank(self.location), blank(self.body))


async def _ask(
    http: httpx.AsyncClient, method: str, row: WebRow, template: str, ids: dict, headers: dict
) -> tuple[str, Answer]:
    """What was sent (the URL and any GraphQL document, ids filled in) and the answer."""
    url, query = _filled(template, ids), _filled(row.query, ids)
    sent = headers | row.headers
    if query:
        response = await http.post(url, json={"query": query}, headers=sent)
    else:
        response = await http.request(method, url, headers=sent)
    answer = Answer(response.status_code, response.headers.get("location", ""), response.text)
    return url + query, answer


def _codes(answer: Answer) -> set[str]:
    return {error["extensions"]["code"] for error in json.loads(answer.body).get("errors") or []}


@pytest.mark.parametrize("route", sorted(ROWS), ids=lambda route: f"{route[0]} {route[1]}")
async def test_web_matrix(stack, web_world, route):
    """RELIABILITY I1: one route x every caller with A's ids: each gets its row's status, no stranger sees A's
    data, and a stranger's answer for A's object is its answer for a random id."""
    method, _ = route
    row = ROWS[route]
    template = row.url or route[1]
    ids = web_world.ids
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=60) as http:
        for who in CALLERS:
            headers = web_world.headers[who]
            sent, answer = await _ask(http, method, row, template, ids, headers)
            assert answer.status == row.status[who], (
                f"{method} {sent} as {who}: {answer.status} {answer.body[:300]}"
            )
            if who not in STRANGERS:
                continue
            shown = answer.body + answer.location
            leaked = {item for item in web_world.a_data() if item in shown and item not in sent}
            assert not leaked, f"{method} {sent} as {who} showed A's {leaked}"
            if row.graphql:
                assert _codes(answer) and _codes(answer) <= DENIED, f"{who}: {answer.body}"
            if row.target:
                missing = str(uuid.uuid4())
                _, other = await _ask(http, method, row, template, ids | {row.target: missing}, headers)
                assert answer.blanked(ids[row.target]) == other.blanked(missing), (
                    f"{method} {template} as {who}: A's {row.target} is told from a missing one"
                )


SUBSCRIBED_S = 2.0  # a subscription not refused by then is served (live values come only as points arrive)


async def _subscribe(url: str, headers: dict, query: str) -> object:
    """What the websocket answers a subscription: the close code, its first message, or "served" when it
    has said nothing within SUBSCRIBED_S."""
    try:
        async with websockets.connect(
            url, subprotocols=["graphql-transport-ws"], additional_headers=headers
        ) as ws:
            await ws.send(json.dumps({"type": "connection_init"}))
            if json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] != "connection_ack":
                return "no ack"
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), SUBSCRIBED_S))
            except TimeoutError:
                return ("served", None)
            return message["type"], message.get("payload")
    except websockets.ConnectionClosed as closed:
        return ("closed", closed.rcvd.code if closed.rcvd else None)


@pytest.mark.parametrize("path", sorted(WEBSOCKETS))
async def test_websocket_matrix(stack, web_world, path):
    """RELIABILITY I1: B's subscription to A's series gets the answer one to a missing series gets; without
    credentials the subscription is refused; A's own is served."""
    url = stack.gateway_url.replace("http", "ws", 1) + path
    template, ids = WEBSOCKETS[path], web_world.ids
    series = ids["series"]
    own = await _subscribe(url, web_world.headers["a_key"], _filled(template, ids))
    assert own == ("served", None) or (own[0] == "next" and "errors" not in own[1]), own
    for who in STRANGERS:
        headers = {k: v for k, v in web_world.headers[who].items() if k != "x-csrf-token"}
        answer = await _subscribe(url, headers, _filled(template, ids))
        missing = str(uuid.uuid4())
        other = await _subscribe(url, headers, _filled(template, {"series": missing}))
        text = json.dumps(answer)
        assert text.replace(series, "<id>") == json.dumps(other).replace(missing, "<id>"), (
            who,
            answer,
            other,
        )
        assert answer[0] in ("error", "closed") or (answer[0] == "next" and answer[1].get("errors")), (
            who,
            answer,
        )
        assert not {item for item in web_world.a_data() - {series} if item in text}, (who, answer)
