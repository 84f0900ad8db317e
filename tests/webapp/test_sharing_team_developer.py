"""The data-sharing, team and developer pages in a real browser against the running stack: a grant made and
revoked through the page, with the grantee's read in its access log and the grant on the grantee's page; a
person invited through the team page who joins as a viewer and sees no managing controls; the developer guide
and its schema download. Screenshots in both languages go to the `screenshots` folder."""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect

from gateway.graphql.scalars import parse_timestamp
from sf.seeding import create_tenant
from tests.sharing.helpers import shared_aggregate
from tests.support.helpers import data, owner_client
from tests.webapp.conftest import CHROMIUM, NO_BROWSER, sign_in, switch_language
from tests.webapp.test_pages import shoot
from tests.webapp.test_reset import sent_token

pytestmark = [pytest.mark.browser, pytest.mark.skipif(CHROMIUM is None, reason=NO_BROWSER)]
GRANTS = "{ dataGrants { id from to granularity series { id } } }"
SCHEMA = (Path(__file__).parents[2] / "gateway" / "schema.graphql").read_text()


async def test_grant_read_and_revoke_through_the_sharing_page(stack, signer, page, browser, screenshots):
    target = stack.targets["tenancy"]
    mine = await create_tenant(target, signer, "Web sharer")
    theirs = await create_tenant(target, signer, "Web reader")
    await sign_in(page, stack.gateway_url, mine.owner_email, mine.owner_password)
    await page.goto(stack.gateway_url + "/sharing")
    await expect(page.locator("#grants")).to_contain_text("You have not shared any data.")
    form = page.locator("#create-grant")
    await form.get_by_label("Share with").select_option("TENANT")
    await form.get_by_label("The company's tenant ID").fill(str(theirs.id))
    await form.locator(f"input[name=series][value='{mine.series_ids[0]}']").check()
    await form.locator("select[name=granularity]").select_option("HOUR")  # its label holds the options too
    await form.get_by_label("Purpose").fill("Energy benchmark")
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#grant-outcome")).to_have_text("Access granted.")
    row = page.locator("tr[data-grant]")
    await expect(row).to_have_attribute("data-state", "ACTIVE")
    for text in ("Web reader", "Energy benchmark", "M-1 · sensor_0", "Per hour", "Active"):
        await expect(row).to_contain_text(text)

    # The grantee reads under the grant as the page made it: its whole range, by the hour.
    owner, reader = await owner_client(stack, mine), await owner_client(stack, theirs)
    try:
        made = data(await owner.query(GRANTS))["dataGrants"][0]
        assert (made["granularity"], made["series"]) == ("HOUR", [{"id": mine.series_ids[0]}])
        start, end = parse_timestamp(made["from"]), parse_timestamp(made["to"])
        assert end - start == 7 * 24 * 3600 * 10**9  # the form's default: the last week, in whole hours
        read = await shared_aggregate(reader, made["id"], mine.series_ids[0], start, end, "1h")
        assert data(read)["sharedAggregate"] == []  # nothing was recorded then; the read itself is logged
    finally:
        await owner.close()
        await reader.close()

    await row.get_by_role("button", name="Access log").click()
    log = page.locator("#grant-log")
    await expect(log.locator("tr[data-access='share.read']")).to_contain_text("Allowed")
    await expect(log.locator("tr[data-access='share.grant']")).to_have_count(1)
    await shoot(page, screenshots, "sharing-en")
    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await row.get_by_role("button", name="Revoke").click()
    await expect(row).to_have_attribute("data-state", "REVOKED")
    await expect(row.get_by_role("button", name="Revoke")).to_have_count(0)
    await expect(log.locator("tr[data-access='share.revoke']")).to_contain_text("Revoked")

    # The grantee's page lists it among what was shared with it, in Korean.
    korean = await browser.new_context(locale="ko-KR", viewport={"width": 1280, "height": 800})
    their_page = await korean.new_page()
    await sign_in(their_page, stack.gateway_url, theirs.owner_email, theirs.owner_password)
    await their_page.goto(stack.gateway_url + "/sharing")
    await expect(their_page.locator("h1")).to_have_text("내 제조 데이터")
    shared = their_page.locator("tr[data-shared]")
    await expect(shared).to_contain_text("Web sharer")
    await expect(shared).to_contain_text("철회됨")
    await expect(their_page.locator("#grants")).to_contain_text("공유한 데이터가 없습니다.")
    await shoot(their_page, screenshots, "sharing-ko")
    await korean.close()


async def test_invite_through_the_team_page_and_a_viewer_manages_nothing(
    stack, signer, page, browser, screenshots, caplog
):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Web team")
    await sign_in(page, stack.gateway_url, tenant.owner_email, tenant.owner_password)
    await page.goto(stack.gateway_url + "/team")
    await expect(page.locator("tr[data-member]")).to_contain_text(tenant.owner_email)
    await expect(page.locator("tr[data-member]")).to_contain_text("Owner")
    email = f"viewer-{uuid.uuid4().hex[:8]}@sme.example"
    with caplog.at_level(logging.INFO, logger="services.tenancy.mailer"):
        await page.get_by_label("Email").fill(email)
        await page.get_by_label("Role").select_option("VIEWER")
        await page.get_by_role("button", name="Send invitation").click()
        await expect(page.locator("#invite-outcome")).to_have_text(
            f"Invitation sent to {email}: the link works once, for 7 days."
        )
    waiting = page.locator("tr[data-invitation]")
    await expect(waiting).to_contain_text(email)
    await expect(waiting).to_contain_text("Viewer")
    await shoot(page, screenshots, "team-en")
    token = sent_token(caplog, email, "invite")
    password = "a-viewers-long-password-1"
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as http:
        joined = await http.post("/invite", data={"token": token, "display_name": "Vi", "password": password})
        assert joined.status_code == 200
    await page.reload()
    await expect(page.locator("#invitations")).to_have_text(
        "No invitation is waiting."
    )  # accepted: no longer open

    viewing = await browser.new_context(locale="ko-KR", viewport={"width": 1280, "height": 800})
    viewer = await viewing.new_page()
    await sign_in(viewer, stack.gateway_url, email, password)
    await viewer.goto(stack.gateway_url + "/team")
    await expect(viewer.locator("h1")).to_have_text("팀")
    await expect(viewer.locator("tr[data-member]")).to_have_count(2)
    await expect(viewer.locator(f"tr[data-member]:has-text('{email}')")).to_contain_text("조회자")
    await expect(viewer.locator("#team-managers")).to_be_visible()
    await shoot(viewer, screenshots, "team-viewer-ko")
    await viewer.goto(stack.gateway_url + "/sharing")
    await expect(viewer.locator("#shared-with-me[aria-busy=false]")).to_be_visible()
    await expect(viewer.locator("#grants-managers")).to_be_visible()
    for path in ("/team", "/sharing"):
        await viewer.goto(stack.gateway_url + path)
        await expect(viewer.locator("[aria-busy=true]")).to_have_count(0)
        await expect(viewer.locator("main form, main button")).to_have_count(0)
    await viewing.close()


async def test_the_developer_guide_and_the_schema_download(stack, signer, page, screenshots):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Web developer")
    await sign_in(page, stack.gateway_url, tenant.owner_email, tenant.owner_password)
    await page.goto(stack.gateway_url + "/developer")
    await expect(page.locator("nav.pages a[aria-current=page]")).to_have_text("Developers")
    await expect(page.locator("#endpoint")).to_have_text(f"{stack.gateway_url}/graphql")
    await expect(page.locator("#curl-example")).to_contain_text("Authorization: Bearer $SF_API_KEY")
    await shoot(page, screenshots, "developer-en")
    # GraphiQL is served to the signed-in session (its scripts come from a CDN this test does not reach).
    assert await page.locator("#open-explorer").get_attribute("href") == "/graphql"
    explorer = await page.request.get(stack.gateway_url + "/graphql", headers={"accept": "text/html"})
    assert explorer.ok and "graphiql" in await explorer.text()
    async with page.expect_download() as downloading:
        await page.click("#download-schema")
    download = await downloading.value
    assert await asyncio.to_thread(Path(await download.path()).read_text) == SCHEMA
    await switch_language(page)
    await expect(page.locator("h1")).to_have_text("개발자")
    await expect(page.locator("#download-schema")).to_have_text("schema.graphql 내려받기")
    await shoot(page, screenshots, "developer-ko")
