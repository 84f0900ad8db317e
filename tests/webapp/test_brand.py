"""Supplier branding (issue 9): a supplier sets its product name, logo, colours and domain in its portal; its
tenants, visiting that domain (Chromium resolves *.brand.test to this machine), see the brand on the sign-in
page and after it, and their invitation and reset mails name the brand and link to its domain; a tenant of an
unbranded supplier sees sfcloud. Unreadable colours, logos that are not PNG or JPEG (or too large) and bad or
taken domains are refused with typed errors; the stylesheet revalidates with an ETag and the logo is served
only as an image. Screenshots in both languages go to the `screenshots` folder."""

from __future__ import annotations

import base64
import secrets
import struct
import zlib

import httpx
import pytest
from playwright.async_api import expect

from gateway.web.brand import LOGO_CSP
from sf.seeding import create_tenant
from tests.support.helpers import data, supplier
from tests.webapp.conftest import CHROMIUM, FLAGS, NO_BROWSER, sign_in, switch_language
from tests.webapp.mailing import link_in, mail_to
from tests.webapp.test_onboarding import PASSWORD, accept, create_with_owner
from tests.webapp.test_pages import shoot

pytestmark = [pytest.mark.browser, pytest.mark.skipif(CHROMIUM is None, reason=NO_BROWSER)]
PRIMARY, ACCENT = "#1f3a5f", "#0f6e3a"
PRODUCT = "Acme Factory Cloud"
SET_BRAND = """mutation ($name: String!, $primary: String!, $accent: String!, $domain: String, $logo: String, $type: String) {
  setBrand(productName: $name, primaryColour: $primary, accentColour: $accent, domain: $domain, logoBase64: $logo,
    logoType: $type) {
    brand { productName domain logoType } errors { field code message } } }"""


def png(width: int = 8, height: int = 4) -> bytes:
    """A small, valid PNG (one flat colour), built by hand."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = b"".join(b"\x00" + bytes((31, 58, 95)) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def rgb(colour: str) -> str:
    return "rgb({}, {}, {})".format(*(int(colour[i : i + 2], 16) for i in (1, 3, 5)))


@pytest.fixture
async def branded_browser():
    """Chromium that finds every *.brand.test host on this machine, as a customer's CNAME would."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        running = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[*FLAGS, "--host-resolver-rules=MAP *.brand.test 127.0.0.1"],
            headless=True,
        )
        yield running
        await running.close()


async def english_page(browser):
    context = await browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800})
    return await context.new_page()


async def header_colours(page) -> tuple[str, str]:
    """The header's background and the accent colour the page draws with."""
    found = await page.evaluate(
        "() => [getComputedStyle(document.querySelector('header.top')).backgroundColor,"
        " getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()]"
    )
    return tuple(found)


async def brand_in_portal(page, domain: str, screenshots) -> None:
    """The supplier's admin refuses an unreadable accent colour, then saves its brand with a logo."""
    await page.goto(page.url.split("/supplier")[0] + "/supplier/brand")
    form = page.locator("#brand-form")
    await form.locator("input[name=product_name]").fill(PRODUCT)
    await form.locator("input[name=primary_colour]").fill(PRIMARY)
    await form.locator("input[name=accent_colour]").fill("#ffcc00")
    await form.locator("input[name=domain]").fill(domain)
    await form.locator("input[name=logo]").set_input_files(
        {"name": "acme.png", "mimeType": "image/png", "buffer": png()}
    )
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#brand-outcome")).to_contain_text("Accent colour")
    await expect(page.locator("#brand-outcome")).to_contain_text("WCAG AA needs 4.5:1")
    await shoot(page, screenshots, "supplier-brand-refused-en")
    await form.locator("input[name=accent_colour]").fill(ACCENT)
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#brand-outcome")).to_contain_text(f"Saved {PRODUCT}")
    await expect(page.locator("#current-logo")).to_be_visible()
    for lang in ("en", "ko"):
        await page.reload()
        await expect(form.locator("input[name=domain]")).to_have_value(domain)
        await shoot(page, screenshots, f"supplier-brand-{lang}")
        await switch_language(page)


async def sees_the_brand(page, screenshots, name: str) -> None:
    await expect(page.locator("header .brand")).to_contain_text(PRODUCT)
    assert (
        await page.locator("header .brand img.logo").evaluate("img => img.complete && img.naturalWidth") == 8
    )
    assert await header_colours(page) == (rgb(PRIMARY), ACCENT)
    assert (await page.title()).endswith(PRODUCT)
    for lang in ("en", "ko"):
        await shoot(page, screenshots, f"{name}-{lang}")
        await switch_language(page)


async def test_a_branded_suppliers_tenant_sees_its_brand_on_its_domain_and_in_its_mail(
    stack, signer, mailing_gateway, inbox, branded_browser, screenshots
):
    acme = await supplier(stack, signer, "Acme Automation")
    await acme.client.close()
    domain = f"acme-{secrets.token_hex(3)}.brand.test"
    portal = await english_page(branded_browser)
    await sign_in(portal, mailing_gateway.url, acme.email, acme.password, lands="/supplier")
    await brand_in_portal(portal, domain, screenshots)
    await portal.goto(mailing_gateway.url + "/supplier")
    owner = f"owner-{secrets.token_hex(4)}@acme-customer.example"
    await create_with_owner(portal, "Acme Customer", owner)
    await portal.context.close()

    invitation = await mail_to(inbox, owner)
    assert invitation["Subject"] == f"You are invited to Acme Customer on {PRODUCT}"
    link = link_in(invitation, "invite")
    assert link.startswith(
        f"http://{domain}/invite?token=sfi_"
    )  # the brand's host (its port is the ingress')
    branded = f"http://{domain}:{mailing_gateway.port}"
    page = await english_page(branded_browser)
    await page.goto(branded + "/invite?token=" + link.split("token=")[1])
    await expect(page.locator("h1")).to_contain_text(PRODUCT)
    await accept(page, page.url)

    await page.goto(branded + "/")
    await expect(page.locator("h1")).to_have_text(PRODUCT)  # before signing in: the host's brand
    await sees_the_brand(page, screenshots, "branded-sign-in")
    await sign_in(page, branded, owner, PASSWORD)
    await expect(page.locator(".machine-card").first).to_be_visible()
    await sees_the_brand(page, screenshots, "branded-overview")
    await page.context.close()

    async with httpx.AsyncClient(base_url=mailing_gateway.url, timeout=30) as http:
        await http.post("/reset", data={"email": owner})
    reset = await mail_to(inbox, owner, skip=invitation)
    assert reset["Subject"] == f"Reset your {PRODUCT} password"
    assert link_in(reset, "reset").startswith(f"http://{domain}/reset?token=")


async def test_a_tenant_of_an_unbranded_supplier_sees_sfcloud_even_on_a_branded_domain(
    stack, signer, mailing_gateway, branded_browser, screenshots
):
    acme = await supplier(stack, signer, "Branded elsewhere")
    domain = f"other-{secrets.token_hex(3)}.brand.test"
    variables = {"name": "Elsewhere", "primary": PRIMARY, "accent": ACCENT, "domain": domain}
    assert data(await acme.client.query(SET_BRAND, **variables))["setBrand"]["errors"] == []
    await acme.client.close()
    plain = await supplier(stack, signer, "Plain S")
    await plain.client.close()
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Plain customer", supplier_id=plain.id)
    page = await english_page(branded_browser)
    await page.goto(mailing_gateway.url + "/")
    await expect(page.locator("h1")).to_have_text("sfcloud")
    await expect(page.locator("img.logo")).to_have_count(0)
    assert await header_colours(page) == ("rgb(255, 255, 255)", "#0b5cad")  # app.css's own
    await sign_in(page, f"http://{domain}:{mailing_gateway.port}", tenant.owner_email, tenant.owner_password)
    await expect(page.locator("header .brand")).to_have_text("sfcloud")  # the session's supplier's brand
    assert (await header_colours(page))[0] == "rgb(255, 255, 255)"
    for lang in ("en", "ko"):
        await shoot(page, screenshots, f"unbranded-overview-{lang}")
        await switch_language(page)
    await page.context.close()


@pytest.fixture
async def branded(stack, signer):
    """A supplier with a brand on its own domain (logo included), signed in through GraphQL."""
    mine = await supplier(stack, signer, "Brand checks")
    domain = f"checks-{secrets.token_hex(3)}.brand.test"
    variables = {"name": "Checked", "primary": PRIMARY, "accent": ACCENT, "domain": domain,
                 "logo": base64.b64encode(png()).decode(), "type": "image/png"}  # fmt: skip
    assert data(await mine.client.query(SET_BRAND, **variables))["setBrand"]["errors"] == []
    yield mine, domain
    await mine.client.close()


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"primary": "#ffcc00"}, "primaryColour", "LOW_CONTRAST"),
        ({"accent": "#777777"}, "accentColour", "LOW_CONTRAST"),  # 4.48:1 on white: just short of AA
        ({"primary": "navy"}, "primaryColour", "BAD_COLOUR"),
        ({"accent": "#0b5cad; }"}, "accentColour", "BAD_COLOUR"),
        ({"logo": base64.b64encode(b"<svg onload='alert(1)'/>").decode(), "type": "image/svg+xml"}, "logo", "BAD_LOGO"),
        ({"logo": base64.b64encode(png()).decode(), "type": "image/jpeg"}, "logo", "BAD_LOGO"),
        ({"logo": base64.b64encode(png() + bytes(100 * 1024)).decode(), "type": "image/png"}, "logo", "LOGO_TOO_LARGE"),
        ({"logo": "not base64!", "type": "image/png"}, "logoBase64", "BAD_LOGO"),
        ({"domain": "https://factory.example.com/"}, "domain", "BAD_DOMAIN"),
        ({"domain": "localhost"}, "domain", "BAD_DOMAIN"),
        ({"domain": "sign-in.localhost"}, "domain", "DOMAIN_RESERVED"),  # the stack's public URL's zone
        ({"name": ""}, "productName", "INVALID_ARGUMENT"),
    ],
)  # fmt: skip
async def test_bad_colours_logos_and_domains_are_refused_naming_the_field(branded, change, field, code):
    mine, domain = branded
    variables = {"name": "Checked", "primary": PRIMARY, "accent": ACCENT, "domain": domain} | change
    errors = data(await mine.client.query(SET_BRAND, **variables))["setBrand"]["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [(field, code)]


async def test_a_domain_serves_one_supplier_and_only_admins_brand_theirs(stack, signer, branded):
    _, domain = branded
    other = await supplier(stack, signer, "Domain thief")
    variables = {"name": "Thief", "primary": PRIMARY, "accent": ACCENT, "domain": domain.upper()}
    errors = data(await other.client.query(SET_BRAND, **variables))["setBrand"]["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [("domain", "DOMAIN_TAKEN")]
    await other.client.close()
    staff = await supplier(stack, signer, "Staff only", role="staff")
    refused = await staff.client.query(SET_BRAND, name="Staff", primary=PRIMARY, accent=ACCENT)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    await staff.client.close()


async def test_the_stylesheet_revalidates_and_the_logo_is_only_an_image(stack, branded):
    _, domain = branded
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as http:
        css = await http.get("/brand.css", headers={"host": domain})
        assert css.headers["content-type"].startswith("text/css") and f"--brand: {PRIMARY}" in css.text
        assert css.headers["cache-control"] == "private, no-cache" and "Host" in css.headers["vary"]
        again = await http.get("/brand.css", headers={"host": domain, "if-none-match": css.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
        logo = await http.get("/brand/logo", headers={"host": f"{domain}:8443"})
        assert logo.content == png() and logo.headers["content-type"] == "image/png"
        assert logo.headers["x-content-type-options"] == "nosniff"
        assert LOGO_CSP in logo.headers.get_list("content-security-policy")  # beside the pages' own
        plain_css = await http.get("/brand.css")
        assert "--brand" not in plain_css.text and plain_css.headers["etag"] != css.headers["etag"]
        assert (await http.get("/brand/logo")).status_code == 404
