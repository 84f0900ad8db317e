"""The supplier portal's Staff page in a real browser against the running stack: the supplier's admin sees its
staff, invites someone and sees the invitation waiting; staff without admin see the staff, in Korean here,
with neither the form nor the invitations, and a note that admins invite."""

from __future__ import annotations

import secrets

import pytest
from playwright.async_api import expect

from tests.support.helpers import supplier, supplier_user
from tests.webapp.conftest import CHROMIUM, NO_BROWSER, sign_in
from tests.webapp.test_accessibility import controls_are_named
from tests.webapp.test_pages import shoot

pytestmark = [pytest.mark.browser, pytest.mark.skipif(CHROMIUM is None, reason=NO_BROWSER)]


async def test_an_admin_invites_from_the_staff_page_and_staff_only_see_it(
    stack, signer, page, browser, screenshots
):
    mine = await supplier(stack, signer, "Staff page SI")
    await mine.client.close()
    staff_email, staff_password = await supplier_user(stack, signer, mine.id, "staff", "Min")

    await sign_in(page, stack.gateway_url, mine.email, mine.password, lands="/supplier")
    await page.click("nav.pages summary")  # under "More", with the brand: the bar stays one line
    await page.get_by_role("group", name="Your company").get_by_role("link", name="Staff").click()
    await page.wait_for_url(stack.gateway_url + "/supplier/staff")
    await expect(page.locator("nav.pages a[aria-current=page]")).to_have_text("Staff")
    await expect(page.locator("tr[data-member]", has_text=mine.email)).to_contain_text("Admin")
    await expect(page.locator("tr[data-member]", has_text=staff_email)).to_contain_text("Staff")
    await expect(page.locator("#invitations")).to_have_text("No invitation is waiting.")
    invited = f"new-{secrets.token_hex(4)}@si.example"
    await page.get_by_label("Email").fill(invited)
    await page.get_by_label("Role").select_option("STAFF")
    await page.get_by_role("button", name="Send invitation").click()
    await expect(page.locator("#invite-outcome")).to_have_text(
        f"Invitation sent to {invited}: the link works once, for 7 days."
    )
    await expect(page.locator("tr[data-invitation]")).to_contain_text(invited)
    await expect(page.locator("tr[data-invitation]")).to_contain_text("Staff")
    await controls_are_named(page, "/supplier/staff")
    await shoot(page, screenshots, "supplier-staff-en")
    assert (await page.locator("header.top").bounding_box())["height"] < 80

    korean = await browser.new_context(locale="ko-KR", viewport={"width": 1280, "height": 800})
    viewer = await korean.new_page()
    errors: list[str] = []
    viewer.on("pageerror", lambda error: errors.append(str(error)))
    await sign_in(viewer, stack.gateway_url, staff_email, staff_password, lands="/supplier")
    await viewer.goto(stack.gateway_url + "/supplier/staff")
    await expect(viewer.locator("h1")).to_have_text("직원")
    await expect(viewer.locator("tr[data-member]")).to_have_count(2)  # the invited person has not joined
    await expect(viewer.locator("tr[data-member]", has_text=mine.email)).to_contain_text("관리자")
    await expect(viewer.locator("#staff-admins")).to_have_text("직원 초대는 관리자가 합니다.")
    await expect(viewer.locator("#invite-user, #invitations, tr[data-invitation]")).to_have_count(0)
    await shoot(viewer, screenshots, "supplier-staff-member-ko")
    await korean.close()
    assert errors == []
