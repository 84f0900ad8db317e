"""The programme's pages for an SME in a real browser against the running stack: the supplier directory
searched and a supplier requested (the supplier sees the request and declines it, and the page says so); a
ticket opened to the tenant's supplier with its diagnostic snapshot, the supplier's reply and the customer's
move; another tenant's ticket is the 404 page; an export started, followed until done and downloaded (a
zip with its manifest); a grant exported from the sharing page and listed among the exports; the "More"
menu by keyboard. Screenshots in both languages go to the `screenshots` folder."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import zipfile
from pathlib import Path

import pytest
from playwright.async_api import expect

from sf.seeding import create_tenant, send_batches
from tests.e2e.test_bad_input import batch
from tests.sharing.helpers import HOUR_NS, STEP_NS, grant, grant_input
from tests.support.helpers import COMMENT, data, owner_client, supplier
from tests.webapp.conftest import CHROMIUM, NO_BROWSER, sign_in
from tests.webapp.test_accessibility import controls_are_named
from tests.webapp.test_pages import shoot

pytestmark = [pytest.mark.browser, pytest.mark.skipif(CHROMIUM is None, reason=NO_BROWSER)]
PROFILE = (
    "mutation($profile: SupplierProfileInput!) { updateSupplierProfile(profile: $profile) {"
    " supplier { id } errors { message } } }"
)
REQUESTS = "{ supplierRequestsConnection(first: 50) { nodes { id tenantName message state } } }"
DECLINE = "mutation($id: ID!, $note: String!) { declineSupplierRequest(id: $id, note: $note) { done errors { message } } }"
MOVE = (
    "mutation($id: ID!, $status: TicketStatus!, $note: String!) { setTicketStatus(id: $id, status: $status,"
    " note: $note) { ticket { status } errors { message } } }"
)


async def korean_page(browser, stack, email: str, password: str):
    """A second browser, in Korean, signed in as ``email``."""
    context = await browser.new_context(locale="ko-KR", viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    await sign_in(page, stack.gateway_url, email, password)
    return context, page


async def test_search_the_directory_and_request_a_supplier(stack, signer, page, browser, screenshots):
    word = f"weld{secrets.token_hex(3)}"
    wanted = await supplier(stack, signer, "Vision SI")
    other = await supplier(stack, signer, "Other SI")
    for s, specialty in ((wanted, "vision inspection"), (other, "plc retrofit")):
        profile = {"summary": f"{word} lines", "specialties": [specialty], "industries": ["automotive"],
                   "regions": ["gyeonggi"], "keyStaff": [{"role": "engineer", "count": 4}]}  # fmt: skip
        assert data(await s.client.query(PROFILE, profile=profile))["updateSupplierProfile"]["errors"] == []
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Web directory")
    await sign_in(page, stack.gateway_url, tenant.owner_email, tenant.owner_password)
    await page.goto(stack.gateway_url + "/suppliers")
    await expect(page.locator("#supplier-requests")).to_have_text("You have not requested a supplier.")

    search = page.locator("#supplier-search")
    await search.get_by_label("Words").fill(word)
    await search.get_by_role("button", name="Search").click()
    await expect(page.locator("tr[data-supplier]")).to_have_count(2)
    await search.get_by_label("Specialty").fill("Vision Inspection")  # tags match whatever the case
    await search.get_by_label("Region").fill("gyeonggi")
    await search.get_by_role("button", name="Search").click()
    found = page.locator("tr[data-supplier]")
    await expect(found).to_have_count(1)
    await expect(found).to_contain_text(wanted.name)

    await found.get_by_role("button", name=f"View the listing of {wanted.name}").click()
    listing = page.locator(f"article[data-listing='{wanted.id}']")
    for text in ("Track record", "Companies served now", "Tickets answered", "engineer: 4", "automotive"):
        await expect(listing).to_contain_text(text)
    await expect(page.locator("#listing-title")).to_be_focused()
    await listing.get_by_label("Message to the supplier").fill("Our press line needs vision checks")
    await listing.get_by_role("button", name="Request this supplier").click()
    await expect(page.locator("#request-outcome")).to_have_text(
        f"Request sent to {wanted.name}: it will accept or decline."
    )
    asked = page.locator("tr[data-request]")
    await expect(asked).to_have_attribute("data-state", "REQUESTED")
    await expect(asked).to_contain_text(wanted.name)
    await shoot(page, screenshots, "suppliers-en")

    # The supplier sees the request with its message, and declines it; the tenant's page says so.
    received = data(await wanted.client.query(REQUESTS))["supplierRequestsConnection"]["nodes"]
    assert [(r["tenantName"].split()[:2], r["message"]) for r in received] == [
        (["Web", "directory"], "Our press line needs vision checks")
    ]
    declined = await wanted.client.query(DECLINE, id=received[0]["id"], note="Fully booked until spring")
    assert data(declined)["declineSupplierRequest"]["errors"] == []
    context, korean = await korean_page(browser, stack, tenant.owner_email, tenant.owner_password)
    await korean.goto(stack.gateway_url + "/suppliers")
    await expect(korean.locator("h1")).to_have_text("공급기업 찾기")
    request = korean.locator("tr[data-request]")
    await expect(request).to_have_attribute("data-state", "DECLINED")
    await expect(request).to_contain_text("거절됨")
    await expect(request).to_contain_text("Fully booked until spring")
    await shoot(korean, screenshots, "suppliers-ko")
    await context.close()
    for s in (wanted, other):
        await s.client.close()


async def test_open_a_ticket_see_its_snapshot_and_the_suppliers_reply(
    stack, signer, page, browser, screenshots
):
    s = await supplier(stack, signer, "Ticket SI")
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Web tickets", supplier_id=s.id)
    await sign_in(page, stack.gateway_url, tenant.owner_email, tenant.owner_password)
    await page.goto(stack.gateway_url + "/tickets")
    await expect(page.locator("#tickets")).to_have_text("No tickets to show.")
    form = page.locator("#open-ticket")
    await form.get_by_label("Subject").fill("Line 1 stopped reporting")
    await form.get_by_label("What happened").fill("Since 9:00 the press sends nothing.")
    await form.get_by_role("button", name="Open ticket").click()
    await page.wait_for_url(f"{stack.gateway_url}/tickets/*")
    ticket_id = page.url.rsplit("/", 1)[1]
    await expect(page.locator("h1")).to_have_text("Line 1 stopped reporting")
    await expect(page.locator("#ticket-status")).to_have_attribute("data-status", "OPEN")
    await expect(page.locator("#snapshot tr[data-device]")).to_have_count(1)  # the tenant's one device
    await expect(page.locator("#snapshot-rates")).to_contain_text("Refused batches")
    await expect(page.locator("#snapshot")).to_contain_text("No alarm in the 7 days before.")
    await expect(page.locator("#history li[data-kind=opened]")).to_contain_text("Your company")
    await expect(page.get_by_role("combobox", name="Move to")).to_have_text("Withdraw (closed)")

    # The supplier answers in its portal's terms: a comment, then the ticket waits on the customer.
    assert data(await s.client.query(COMMENT, id=ticket_id, body="Please restart the gateway box."))
    moved = await s.client.query(MOVE, id=ticket_id, status="WAITING_ON_CUSTOMER", note="")
    assert data(moved)["setTicketStatus"]["errors"] == []
    await page.reload()
    reply = page.locator("#history li[data-side=supplier][data-kind=comment]")
    await expect(reply).to_contain_text("Please restart the gateway box.")
    await expect(page.locator("#ticket-status")).to_have_attribute("data-status", "WAITING_ON_CUSTOMER")
    await page.get_by_label("Your comment").fill("Restarted; data flows again.")
    await page.get_by_role("button", name="Add comment").click()
    await expect(page.locator("#ticket-outcome")).to_have_text("Comment added.")
    await page.get_by_role("combobox", name="Move to").select_option("IN_PROGRESS")
    await page.get_by_role("button", name="Move").click()
    await expect(page.locator("#ticket-status")).to_have_attribute("data-status", "IN_PROGRESS")
    await expect(page.locator("#history li")).to_have_count(5)
    await expect(page.locator("#move-ticket")).to_be_hidden()  # in progress: the supplier's to move on
    await controls_are_named(page, "/tickets/{id}")
    await shoot(page, screenshots, "ticket-en")
    await page.goto(stack.gateway_url + "/tickets")
    await page.get_by_label("Show").select_option("all")
    row = page.locator(f"tr[data-ticket='{ticket_id}']")
    await expect(row).to_contain_text("In progress")
    await row.get_by_role("link", name="Line 1 stopped reporting").click()
    await page.wait_for_url(f"{stack.gateway_url}/tickets/{ticket_id}")

    context, korean = await korean_page(browser, stack, tenant.owner_email, tenant.owner_password)
    await korean.goto(f"{stack.gateway_url}/tickets/{ticket_id}")
    await expect(korean.locator("#snapshot-heading")).to_have_text("진단 스냅샷")
    await expect(korean.locator("#ticket-status")).to_have_text("처리 중")
    await expect(korean.locator("#history li[data-side=supplier]").first).to_contain_text("공급기업")
    await shoot(korean, screenshots, "ticket-ko")
    await context.close()

    # Another tenant's ticket, a malformed id and an unknown one are the same 404 page.
    stranger = await create_tenant(stack.targets["tenancy"], signer, "Web ticket stranger", supplier_id=s.id)
    context, theirs = await korean_page(browser, stack, stranger.owner_email, stranger.owner_password)
    for wrong in (ticket_id, "not-an-id", "00000000-0000-4000-8000-000000000000"):
        response = await theirs.goto(f"{stack.gateway_url}/tickets/{wrong}")
        assert response.status == 404, wrong
        await expect(theirs.locator("#not-found")).to_be_visible()
        assert "Line 1" not in await theirs.content()
    await context.close()
    await s.client.close()


async def export_done(page, row) -> None:
    """Waits for the row to say its export is done: the page follows it by itself."""
    await expect(row).to_have_attribute("data-state", "DONE", timeout=60_000)


async def downloaded(page, link) -> zipfile.ZipFile:
    async with page.expect_download() as downloading:
        await link.click()
    path = await (await downloading.value).path()
    return await asyncio.to_thread(zipfile.ZipFile, Path(path))


async def test_start_an_export_follow_it_and_download_it(stack, signer, page, browser, screenshots):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Web export")
    start = (time.time_ns() // HOUR_NS - 2) * HOUR_NS
    stamps = list(range(start, start + HOUR_NS, STEP_NS))
    await send_batches(
        stack.targets["ingest"], tenant.credential, [batch(tenant.series_ids[0], stamps, [1.5] * len(stamps))]
    )
    await sign_in(page, stack.gateway_url, tenant.owner_email, tenant.owner_password)
    await page.goto(stack.gateway_url + "/exports")
    await expect(page.locator("#exports")).to_have_text("No export yet.")
    await page.get_by_label("CSV files beside the Parquet ones").check()
    await page.get_by_role("button", name="Start export").click()
    await expect(page.locator("#export-outcome")).to_have_text("Export started: its progress shows below.")
    row = page.locator("tr[data-export]")
    await expect(row).to_contain_text("Your company's data")
    await expect(row).to_contain_text("Parquet and CSV")
    await export_done(page, row)
    await expect(row).to_contain_text(f"{len(stamps):,} of {len(stamps):,} points")
    await expect(page.locator("#export-outcome")).to_contain_text("is ready to download.")
    await shoot(page, screenshots, "exports-en")
    with await downloaded(page, row.get_by_role("link", name="Download")) as package:
        manifest = json.loads(package.read("manifest.json"))
        assert manifest["format"] == "sfcloud-export" and manifest["tenant"]["id"] == str(tenant.id)
        assert manifest["totals"]["points"] == len(stamps)
        assert any(name.endswith(".csv") for name in package.namelist())

    context, korean = await korean_page(browser, stack, tenant.owner_email, tenant.owner_password)
    await korean.goto(stack.gateway_url + "/exports")
    await expect(korean.locator("h1")).to_have_text("데이터 내보내기")
    await expect(korean.locator("tr[data-export]")).to_contain_text("완료")
    await expect(korean.locator("tr[data-export]").get_by_role("link")).to_have_text("내려받기 (.zip)")
    await shoot(korean, screenshots, "exports-ko")
    await context.close()


async def test_export_a_grant_from_the_sharing_page(stack, signer, page, browser, screenshots):
    target = stack.targets["tenancy"]
    grantor, grantee = (
        await create_tenant(target, signer, "Web export grantor"),
        await create_tenant(target, signer, "Web export grantee"),
    )
    start = (time.time_ns() // HOUR_NS - 3) * HOUR_NS
    stamps = list(range(start, start + 2 * HOUR_NS, STEP_NS))
    await send_batches(
        stack.targets["ingest"],
        grantor.credential,
        [batch(grantor.series_ids[0], stamps, [2.0] * len(stamps))],
    )
    owner = await owner_client(stack, grantor)
    try:
        given = await grant(
            owner,
            **grant_input(
                grantee.id,
                grantor.series_ids[:1],
                start,
                start + 2 * HOUR_NS,
                granularity="HOUR",
                purpose="Energy study",
            ),
        )
    finally:
        await owner.close()

    context, korean = await korean_page(browser, stack, grantee.owner_email, grantee.owner_password)
    await korean.goto(stack.gateway_url + "/sharing")
    shared = korean.locator(f"tr[data-shared='{given['id']}']")
    await expect(shared.get_by_role("button", name="내보내기")).to_be_visible()
    await context.close()

    await sign_in(page, stack.gateway_url, grantee.owner_email, grantee.owner_password)
    await page.goto(stack.gateway_url + "/sharing")
    shared = page.locator(f"tr[data-shared='{given['id']}']")
    await shared.get_by_role("button", name="Export").click()
    outcome = page.locator("#shared-outcome")
    await expect(outcome).to_contain_text("shared started.")
    await outcome.get_by_role("link", name="Follow it on the exports page.").click()
    await page.wait_for_url(stack.gateway_url + "/exports")
    row = page.locator(f"tr[data-grant='{given['id']}']")
    await expect(row).to_contain_text("Shared by")
    await expect(row).to_contain_text("Energy study")
    await export_done(page, row)
    await shoot(page, screenshots, "exports-grant-en")
    with await downloaded(page, row.get_by_role("link", name="Download")) as package:
        manifest = json.loads(package.read("manifest.json"))
        assert manifest["format"] == "sfcloud-export"


async def test_the_more_menu_opens_by_keyboard(stack, signer, page, screenshots):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Web more menu")
    await sign_in(page, stack.gateway_url, tenant.owner_email, tenant.owner_password)
    exports = page.locator("nav.pages").get_by_role("link", name="Exports")
    await expect(exports).to_be_hidden()
    more = page.locator("nav.pages summary")
    await more.focus()
    await page.keyboard.press("Enter")
    await expect(exports).to_be_visible()
    await expect(page.get_by_role("group", name="Developers").get_by_role("link")).to_have_text(
        ["API keys", "Developers", "API explorer"]
    )
    await shoot(page, screenshots, "nav-more-en")
    await exports.focus()
    await page.keyboard.press("Enter")
    await page.wait_for_url(stack.gateway_url + "/exports")
    await expect(page.locator("nav.pages a[aria-current=page]")).to_have_text("Exports")
    await expect(more).to_have_class("current")
    top = await page.locator("header.top").bounding_box()
    assert top["height"] < 80  # the navigation stays on one line at 1280 px
