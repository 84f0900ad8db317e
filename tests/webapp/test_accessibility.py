"""WCAG AA for the web app: the stylesheet's text colours against their backgrounds (4.5:1), and in
the browser every control named and the content a keystroke away."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.e2e.provision import create_tenant
from tests.support.helpers import supplier
from tests.webapp.conftest import CHROMIUM, NO_BROWSER, sign_in

CSS = (Path(__file__).parents[2] / "gateway" / "web" / "static" / "app.css").read_text()
VARIABLES = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", CSS))
WHITE = "#ffffff"
# (text, background) as the stylesheet pairs them.
PAIRS = [
    ("fg", "bg"),
    ("muted", "bg"),
    ("muted", WHITE),
    ("accent", WHITE),
    ("accent", "bg"),
    (WHITE, "accent"),
    ("down", WHITE),
    (WHITE, "down"),
    ("muted", "#eef2f6"),  # table headers
    ("#4f5b67", "#e3e8ee"),  # disabled buttons and inputs
    ("#073d73", "#dce9f7"),  # the current page in the navigation
    ("#8f1c13", "#fde7e5"),  # critical and unmet badges
    ("#6b4500", "#fff1d0"),  # warning badges
    ("#073d73", "#e2eefb"),  # info badges
    ("#14623a", "#dff3e7"),  # met badges
    ("#5c4300", "#fff4d6"),  # the retention banner
]


def luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(text: str, background: str) -> float:
    lighter, darker = sorted((luminance(text), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


@pytest.mark.parametrize(("text", "background"), PAIRS)
def test_text_contrast_passes_aa(text, background):
    pair = [VARIABLES.get(c, c) for c in (text, background)]
    assert all((c.startswith("#") and c in CSS) or c == WHITE for c in pair), (
        pair
    )  # still what the stylesheet uses
    assert contrast(*pair) >= 4.5, pair


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason=NO_BROWSER)
async def test_controls_are_named_and_content_is_a_keystroke_away(stack, signer, page):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Web a11y")
    await sign_in(page, stack.gateway_url, tenant.owner_email, tenant.owner_password)
    await page.keyboard.press("Tab")
    skip = page.locator("a.skip")
    await expect(skip).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("main#content")).to_be_focused()
    for path in (
        "/",
        "/alarms",
        "/oee",
        "/spc",
        "/api-keys",
        "/sharing",
        "/team",
        "/developer",
        "/suppliers",
        "/tickets",
        "/exports",
        f"/machines/{tenant.machine_id}",
    ):
        await page.goto(stack.gateway_url + path)
        await controls_are_named(page, path)


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason=NO_BROWSER)
async def test_the_supplier_portals_controls_are_named(stack, signer, page):
    staff = await supplier(stack, signer, "Web a11y SI")
    await sign_in(page, stack.gateway_url, staff.email, staff.password, lands="/supplier")
    for path in (
        "/supplier",
        "/supplier/usage",
        "/supplier/tickets",
        "/supplier/requests",
        "/supplier/shared",
        "/supplier/staff",
    ):
        await page.goto(stack.gateway_url + path)
        await controls_are_named(page, path)
    await staff.client.close()


async def controls_are_named(page, path: str) -> None:
    """Every visible control of the loaded page has an accessible name."""
    await expect(page.locator("[aria-busy=true]")).to_have_count(0)
    controls = page.locator("main input:not([type=hidden]), main select, main button, header button, nav a")
    controls = controls.locator("visible=true")  # a hidden control (a "More" with no more) is not announced
    assert await controls.count() >= 3, path
    for control in await controls.all():
        await expect(control).to_have_accessible_name(re.compile(r"\S"))
