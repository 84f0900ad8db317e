"""Korean and English: the dictionaries agree, every string the pages ask for is in them, and the
language follows the cookie, else the browser's Accept-Language (over HTTP, no browser needed)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from gateway.app import SECURITY_HEADERS
from gateway.web.i18n import MESSAGES, preferred
from gateway.web.pages import MORE, PAGES
from services.analytics.level.criteria import CRITERIA
from services.tenancy.catalog import load_plans, load_templates
from services.tenancy.support_models import CUSTOMER, MOVES
from tests.e2e.provision import create_tenant, session_cookie

WEB = Path(__file__).parents[2] / "gateway" / "web"
# The customer's moves of a ticket (services/tenancy/support_models.py), as the ticket page offers them.
CUSTOMER_MOVES = {
    a.upper(): [b.upper() for b, sides in moves.items() if CUSTOMER in sides] for a, moves in MOVES.items()
}
# Literal keys: t["key"] in templates, t("key" in scripts.
USED = re.compile(r"""\bt\[["']([\w.]+)["']\]|\bt\(["']([\w.]+)["']""")


def used_keys() -> set[str]:
    files = [*(WEB / "templates").glob("*.html"), *(WEB / "static").rglob("*.js")]
    return {a or b for path in files for a, b in USED.findall(path.read_text(encoding="utf-8"))}


def test_both_languages_say_everything():
    assert set(MESSAGES) == {"en", "ko"}
    assert MESSAGES["en"].keys() == MESSAGES["ko"].keys()
    assert all(text.strip() for texts in MESSAGES.values() for text in texts.values())


def test_every_string_the_pages_use_is_translated():
    keys = used_keys()
    assert len(keys) > 100
    assert keys - MESSAGES["en"].keys() == set()
    # Keys built from values: alarm states and severities, key scopes, level criteria, the portals' states,
    # plans and templates.
    built = {f"state.{s}" for s in ("RAISED", "ACKNOWLEDGED", "CLEARED")}
    built |= {f"severity.{s}" for s in ("INFO", "WARNING", "CRITICAL")}
    built |= {f"keys.scope.{s}" for s in ("READ", "WRITE", "INGEST")}
    built |= {f"criterion.{c.name}" for c in CRITERIA}
    built |= {f"subscription.{s}" for s in ("TRIAL", "ACTIVE", "PAST_DUE", "SUSPENDED", "CANCELLED")}
    built |= {f"ticket.{s}" for s in ("OPEN", "IN_PROGRESS", "WAITING_ON_CUSTOMER", "RESOLVED", "CLOSED")}
    built |= {f"report.{s}" for s in ("RECEIVED", "INVESTIGATING", "CLOSED", "MISUSE", "SUPPLIER")}
    built |= {f"plan.{code}" for code in load_plans()} | {f"template.{code}" for code in load_templates()}
    built |= {f"nav.{nav}" for pages in PAGES.values() for _, _, nav in pages}
    built |= {f"portal.{kind}" for kind in PAGES if kind != "tenant"}
    built |= {f"team.role.{r}" for r in ("OWNER", "ADMIN", "OPERATOR", "VIEWER")}
    built |= {f"staff.role.{r}" for r in ("ADMIN", "STAFF")}
    built |= {f"sharing.level.{g}" for g in ("RAW", "MINUTE", "HOUR")}
    built |= {f"sharing.kind.{k}" for k in ("TENANT", "SUPPLIER")} | {
        f"sharing.state.{s}" for s in ("ACTIVE", "REVOKED", "EXPIRED")
    }
    built |= {f"sharing.action.share.{a}" for a in ("grant", "read", "revoke")}
    built |= {f"sharing.outcome.{o}" for o in ("ok", "denied")}
    built |= {f"nav.group.{group}" for group in MORE.values()}
    built |= {f"suppliers.state.{s}" for s in ("REQUESTED", "ACCEPTED", "DECLINED")}
    built |= {f"exports.state.{s}" for s in ("QUEUED", "RUNNING", "DONE", "FAILED")}
    built |= {f"tickets.side_{s}" for s in ("customer", "supplier")}
    built |= {f"tickets.event_{k}" for k in ("opened", "comment", "status")}
    built |= {f"tickets.move_{a}_{b}" for a, moves in CUSTOMER_MOVES.items() for b in moves}
    assert built - MESSAGES["en"].keys() == set()


def test_the_ticket_page_offers_exactly_the_customers_moves():
    """ticket.js keeps its own copy of the customer's moves (to offer only those); it must be tenancy's."""
    script = (WEB / "static" / "pages" / "ticket.js").read_text(encoding="utf-8")
    literal = re.search(r"const CUSTOMER_MOVES = (\{.*?\});", script).group(1)
    offered = json.loads(re.sub(r"(\w+):", r'"\1":', literal))
    assert offered == {state: moves for state, moves in CUSTOMER_MOVES.items() if moves}


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("ko-KR,ko;q=0.9,en-US;q=0.8", "ko"),
        ("en-US,en;q=0.9,ko;q=0.8", "en"),
        ("de-DE,ko;q=0.5,en;q=0.4", "ko"),
        ("ko;q=0,en;q=0.1", "en"),
        ("fr", "en"),
        ("", "en"),
        ("ko;q=abc", "en"),
    ],
)
def test_the_browsers_language_is_chosen_from_accept_language(header, language):
    assert preferred(header) == language


async def test_the_language_follows_the_browser_then_the_choice(stack):
    async with httpx.AsyncClient(base_url=stack.gateway_url) as http:
        korean = await http.get("/login", headers={"accept-language": "ko-KR,ko;q=0.9"})
        assert '<html lang="ko">' in korean.text and "비밀번호" in korean.text
        chosen = await http.post("/lang", data={"lang": "en", "next": "/login"})
        assert (chosen.status_code, chosen.headers["location"]) == (303, "/login")
        assert chosen.cookies["sf_lang"] == "en"
        http.cookies.set("sf_lang", "en")
        english = await http.get("/login", headers={"accept-language": "ko"})
        assert '<html lang="en">' in english.text and "Password" in english.text
        http.cookies.clear()
        foreign = await http.post("/lang", data={"lang": "ko"}, headers={"origin": "https://evil.example"})
        assert foreign.status_code == 403 and "sf_lang" not in foreign.cookies
        away = await http.post("/lang", data={"lang": "ko", "next": "//evil.example/"})
        assert away.headers["location"] == "/"  # never an open redirect


async def test_pages_carry_the_dictionary_as_data_under_the_strict_csp(stack, signer):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Web headers")
    async with httpx.AsyncClient(base_url=stack.gateway_url) as http:
        signed_in = await http.post(
            "/login", data={"email": tenant.owner_email, "password": tenant.owner_password}
        )
        http.headers["cookie"] = session_cookie(signed_in)
        pages = ("/", "/alarms", "/level", "/devices", "/api-keys", "/suppliers", "/tickets", "/exports")
        for path in (*pages, f"/machines/{tenant.machine_id}"):
            page = await http.get(path, headers={"accept-language": "ko"})
            assert page.status_code == 200, path
            assert page.headers["content-security-policy"] == SECURITY_HEADERS["content-security-policy"]
            assert page.headers["x-frame-options"] == "DENY"
            data = re.search(r'<script id="messages" type="application/json">(.*?)</script>', page.text, re.S)
            assert json.loads(data.group(1)) == MESSAGES["ko"]
            scripts = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", page.text)
            assert scripts == [], path  # no inline script: the CSP would refuse it
    assert (
        "'unsafe-inline'"
        not in SECURITY_HEADERS["content-security-policy"].split("script-src")[1].split(";")[0]
    )
