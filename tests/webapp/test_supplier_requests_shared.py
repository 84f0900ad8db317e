"""The supplier portal's requests and shared-data pages in a real browser against the running stack: a
supplier accepts a tenant's request (the tenant then is among its tenants) and declines another with a note;
it exports a grant a tenant gave it and downloads the package (docs/SHARING.md, "Exporting a grant")."""

from __future__ import annotations

import json
import time
import zipfile

import pytest
from playwright.async_api import expect

from sf.seeding import create_tenant, send_batches
from tests.e2e.test_bad_input import batch
from tests.sharing.helpers import HOUR_NS, STEP_NS, grant, grant_input
from tests.support.helpers import data, owner_client, supplier
from tests.webapp.conftest import CHROMIUM, NO_BROWSER, sign_in, switch_language
from tests.webapp.test_accessibility import controls_are_named
from tests.webapp.test_pages import shoot

pytestmark = [pytest.mark.browser, pytest.mark.skipif(CHROMIUM is None, reason=NO_BROWSER)]
REQUEST = (
    "mutation($s: ID!, $m: String!) { requestSupplier(supplierId: $s, message: $m) { errors { message } } }"
)
REQUESTS = "{ supplierRequestsConnection(first: 5) { nodes { state decisionNote } } }"


async def test_a_supplier_accepts_and_declines_requests_in_the_portal(stack, signer, page, screenshots):
    mine = await supplier(stack, signer, "Requests SI")
    joining = await create_tenant(stack.targets["tenancy"], signer, "Web joining")
    other = await create_tenant(stack.targets["tenancy"], signer, "Web declined")
    owners = [await owner_client(stack, t) for t in (joining, other)]
    joining_name, other_name = [
        data(await o.query("{ me { tenantName } }"))["me"]["tenantName"] for o in owners
    ]
    for owner, message in zip(owners, ("Please run our plant", "Maybe next year"), strict=True):
        assert data(await owner.query(REQUEST, s=mine.id, m=message))["requestSupplier"]["errors"] == []

    await sign_in(page, stack.gateway_url, mine.email, mine.password, lands="/supplier")
    await page.goto(stack.gateway_url + "/supplier/requests")
    await expect(page.locator("nav.pages a[aria-current=page]")).to_have_text("Requests")
    asked = page.locator("tr[data-request]", has_text=joining_name)
    await expect(asked).to_have_attribute("data-state", "REQUESTED")
    await expect(asked).to_contain_text("Please run our plant")
    await controls_are_named(page, "/supplier/requests")
    await shoot(page, screenshots, "supplier-requests-en")
    await asked.get_by_role("button", name=f"Accept the request of {joining_name}").click()
    await expect(page.locator("#request-outcome")).to_have_text(f"{joining_name} is now your tenant.")
    await expect(asked).to_have_attribute("data-state", "ACCEPTED")

    declined = page.locator("tr[data-request]", has_text=other_name)
    await declined.get_by_label("Note to the company").fill("Fully booked until spring")
    await declined.get_by_role("button", name="Decline", exact=True).click()
    await expect(page.locator("#request-outcome")).to_have_text(f"Declined the request of {other_name}.")
    await expect(declined).to_have_attribute("data-state", "DECLINED")
    [seen] = data(await owners[1].query(REQUESTS))["supplierRequestsConnection"]["nodes"]
    assert seen == {"state": "DECLINED", "decisionNote": "Fully booked until spring"}

    # The accepted tenant is the supplier's now; the declined one is not.
    await page.goto(stack.gateway_url + "/supplier")
    await expect(page.locator("tr[data-tenant]", has_text=joining_name)).to_have_count(1)
    await expect(page.locator("tr[data-tenant]", has_text=other_name)).to_have_count(0)

    await switch_language(page)
    await page.goto(stack.gateway_url + "/supplier/requests")
    await expect(page.locator("h1")).to_have_text("고객사 요청")
    await expect(page.locator("tr[data-request]", has_text=joining_name)).to_contain_text("수락됨")
    await controls_are_named(page, "/supplier/requests")
    await shoot(page, screenshots, "supplier-requests-ko")
    for client in (*owners, mine.client):
        await client.close()


async def test_a_supplier_exports_a_grant_from_the_shared_page(stack, signer, page, tmp_path, screenshots):
    mine = await supplier(stack, signer, "Shared SI")
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Web sharing SME", supplier_id=mine.id)
    start = time.time_ns() // HOUR_NS * HOUR_NS - 2 * HOUR_NS  # a whole hour, two hours back
    stamps = list(range(start, start + HOUR_NS, STEP_NS))
    await send_batches(
        stack.targets["ingest"], tenant.credential, [batch(tenant.series_ids[0], stamps, [1.5] * len(stamps))]
    )
    owner = await owner_client(stack, tenant)
    made = await grant(
        owner,
        **grant_input(
            mine.id, [tenant.series_ids[0]], start, start + HOUR_NS, granteeKind="SUPPLIER", purpose="Tuning"
        ),
    )

    await sign_in(page, stack.gateway_url, mine.email, mine.password, lands="/supplier")
    await page.goto(stack.gateway_url + "/supplier/shared")
    shared = page.locator(f"tr[data-grant='{made['id']}']")
    await expect(shared).to_contain_text("Tuning")
    await expect(page.locator("#grant-exports")).to_have_text("No export yet.")
    await controls_are_named(page, "/supplier/shared")
    await shared.get_by_role("button", name=f"Export the grant of {made['grantorName']}: Tuning").click()
    await expect(page.locator("#shared-outcome")).to_contain_text("started")
    done = page.locator("tr[data-export]")
    await expect(done).to_have_attribute("data-state", "DONE", timeout=30_000)
    await expect(done).to_contain_text("Tuning")
    await shoot(page, screenshots, "supplier-shared-en")
    async with page.expect_download() as started:
        await done.get_by_role("link", name="Download").click()
    path = tmp_path / "grant.zip"
    await (await started.value).save_as(path)
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["grant"]["id"] == made["id"] and manifest["totals"]["points"] == len(stamps)
    for client in (owner, mine.client):
        await client.close()
