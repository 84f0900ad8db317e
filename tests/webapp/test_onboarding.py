"""A supplier brings a new customer on board from its portal (issue 9): it creates the tenant from an
industry template with the owner's email; the invitation arrives through a real SMTP server; the owner
accepts it at /invite, signs in and finds the template's plant on the overview. Screenshots in both
languages go to the `screenshots` folder."""

from __future__ import annotations

import secrets

import pytest
from playwright.async_api import expect

from tests.e2e.provision import GraphQLClient
from tests.support.helpers import supplier
from tests.webapp.conftest import CHROMIUM, NO_BROWSER, sign_in, switch_language
from tests.webapp.mailing import body_of, link_in, mail_to
from tests.webapp.test_pages import shoot

pytestmark = [pytest.mark.browser, pytest.mark.skipif(CHROMIUM is None, reason=NO_BROWSER)]
PASSWORD = "a-good-long-password-1"


async def create_with_owner(page, name: str, email: str, template: str = "injection-moulding") -> None:
    """Fills the portal's create form, the owner's email and name included, and waits for the outcome."""
    form = page.locator("#create-tenant")
    await form.locator("input[name=name]").fill(name)
    await form.locator("select[name=template]").select_option(template)
    await form.locator("input[name=owner_email]").fill(email)
    await form.locator("input[name=owner_name]").fill("Ji-woo Park")
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#tenant-outcome")).to_contain_text(email)


async def accept(page, link: str, name: str = "Ji-woo Park") -> None:
    await page.goto(link)
    await page.fill("input[name=display_name]", name)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("form[action='/invite'] button[type=submit]")
    await expect(page.locator("[role=status]").first).to_contain_text("You have joined")


async def test_a_supplier_creates_a_tenant_whose_owner_joins_from_the_emailed_invitation(
    stack, signer, mailing_gateway, inbox, page, browser, screenshots
):
    mine = await supplier(stack, signer, "Onboarding S")
    await mine.client.close()
    url = mailing_gateway.url
    await sign_in(page, url, mine.email, mine.password, lands="/supplier")
    for lang in ("en", "ko"):
        await shoot(page, screenshots, f"supplier-create-with-owner-{lang}")
        await switch_language(page)
    owner = f"owner-{secrets.token_hex(4)}@new-customer.example"
    await create_with_owner(page, "Daehan Moulding", owner)
    await expect(page.locator("#tenants tr", has_text="Daehan Moulding")).to_have_count(1)

    mail = await mail_to(inbox, owner)
    assert mail["Subject"] == "You are invited to Daehan Moulding on sfcloud"
    body = body_of(mail)
    assert "Hello Ji-woo Park," in body and "as owner" in body
    link = link_in(mail, "invite")
    assert link.startswith(f"{url}/invite?token=sfi_")

    joining = await (
        await browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800})
    ).new_page()
    await accept(joining, link)
    await sign_in(joining, url, owner, PASSWORD)
    await expect(joining.locator(".machine-card").first).to_be_visible()  # the template's plant
    assert await joining.locator(".machine-card").count() >= 2
    await expect(joining.locator("header .tenant")).to_have_text("Daehan Moulding")
    for lang in ("en", "ko"):
        await shoot(joining, screenshots, f"new-owner-overview-{lang}")
        await switch_language(joining)
    await joining.context.close()


async def test_a_bad_owner_email_creates_no_tenant(stack, signer, mailing_gateway, inbox, page):
    """The tenant and its invitation are one step: a refused address leaves no tenant behind."""
    mine = await supplier(stack, signer, "Onboarding T")
    await mine.client.close()
    await sign_in(page, mailing_gateway.url, mine.email, mine.password, lands="/supplier")
    form = page.locator("#create-tenant")
    await form.locator("input[name=name]").fill("Never made")
    await form.locator("input[name=owner_email]").evaluate("input => { input.type = 'text'; }")
    await form.locator("input[name=owner_email]").fill("not-an-address")
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#tenant-outcome")).to_contain_text("email")
    tenants = await mine_tenants(mailing_gateway.url, mine)
    assert "Never made" not in tenants


async def mine_tenants(url: str, account) -> list[str]:
    client = await GraphQLClient.login(url, account.email, account.password)
    try:
        answer = await client.query("{ tenants { nodes { name } } }")
    finally:
        await client.close()
    return [t["name"] for t in answer["data"]["tenants"]["nodes"]]
