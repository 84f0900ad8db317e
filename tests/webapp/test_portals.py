"""The supplier and operator portals in a real browser against the running stack: a supplier's admin
creates a tenant from a template, suspends and resumes it and works its ticket; the operator sees every
tenant, how many are at each smart-factory level, the audit log, the report centre and the utilisation
flags, a page of tenants at a time; each kind of user finds nothing of
the other kinds' pages, and a supplier nothing of another supplier's tenant. Screenshots of each portal
page in both languages go to the `screenshots` folder."""

from __future__ import annotations

import secrets
import uuid
from urllib.parse import parse_qs, urlsplit

import grpc
import pytest
from playwright.async_api import expect

from sfcloud.v1 import tenancy_pb2 as pb
from sfcloud.v1 import tenancy_pb2_grpc
from tests.control_plane import OPERATOR, Tenancy
from tests.e2e.provision import GraphQLClient, create_tenant
from tests.programme.helpers import FILE_REPORT, OPERATOR_LOGIN, backdated_tenants
from tests.support.helpers import data, open_ticket, supplier
from tests.support.test_directory import record_levels
from tests.webapp.conftest import CHROMIUM, NO_BROWSER, sign_in, switch_language
from tests.webapp.test_accessibility import controls_are_named
from tests.webapp.test_pages import shoot

pytestmark = [pytest.mark.browser, pytest.mark.skipif(CHROMIUM is None, reason=NO_BROWSER)]
SUPPLIER_PAGES = [("/supplier", "supplier-tenants"), ("/supplier/usage", "supplier-usage"),
                  ("/supplier/tickets", "supplier-tickets")]  # fmt: skip
OPERATOR_PAGES = [("/operator", "operator-tenants"), ("/operator/utilisation", "operator-utilisation"),
                  ("/operator/reports", "operator-reports"), ("/operator/audit", "operator-audit")]  # fmt: skip


async def first_owner(stack, signer, tenant_id: str) -> tuple[str, str]:
    """The new tenant's first owner, made directly through tenancy as its owner would (quicker than the
    emailed invitation createTenant's ownerEmail sends, which tests/webapp/test_onboarding.py follows)."""
    email, password = f"owner-{secrets.token_hex(4)}@portal.example", secrets.token_urlsafe(16)
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
        tenancy = Tenancy(tenancy_pb2_grpc.TenancyServiceStub(channel), signer)
        owner = tenancy.owner_of(pb.Tenant(id=tenant_id))
        request = pb.CreateUserRequest(
            email=email, password=password, display_name="New owner", role=pb.ROLE_OWNER
        )
        await tenancy.provision(owner.tenant_id, request)
    return email, password


async def shoot_both_languages(page, base_url: str, pages: list[tuple[str, str]], screenshots) -> None:
    """Each page in English then Korean, screenshot once loaded, its controls named."""
    for lang in ("en", "ko"):
        for path, name in pages:
            await page.goto(base_url + path)
            await expect(page.locator("html")).to_have_attribute("lang", lang)
            await shoot(page, screenshots, f"{name}-{lang}")
            await controls_are_named(page, path)
        await switch_language(page)


async def test_a_supplier_runs_a_tenant_from_the_portal(stack, signer, page, browser, screenshots):
    mine = await supplier(stack, signer, "Web portal S")
    await sign_in(page, stack.gateway_url, mine.email, mine.password, lands="/supplier")
    await expect(page.locator("nav.pages a[aria-current=page]")).to_have_text("Tenants")
    name = f"Portal SME {secrets.token_hex(3)}"
    await page.fill("#create-tenant input[name=name]", name)
    await page.select_option("#create-tenant select[name=plan]", "standard")
    await page.select_option("#create-tenant select[name=template]", "food-processing")
    await page.click("#create-tenant button[type=submit]")
    await expect(page.locator("#tenant-outcome")).to_have_text(f"Created {name}.")
    row = page.locator("tr[data-tenant]", has_text=name)
    await expect(row).to_have_attribute("data-state", "TRIAL")
    await expect(row).to_contain_text("Food processing")
    tenant_id = await row.get_attribute("data-tenant")

    await row.locator("input[name=reason]").fill("unpaid invoice")
    await row.locator("button[type=submit]").click()
    await expect(row).to_have_attribute("data-state", "SUSPENDED")
    await expect(page.locator("#tenant-outcome")).to_have_text(f"{name} is Suspended.")
    await row.locator("input[name=reason]").fill("paid")
    await row.locator("button", has_text="Resume").click()
    await expect(row).to_have_attribute("data-state", "ACTIVE")

    # The new tenant's owner signs in to the plant overview, and the portal is not theirs.
    email, password = await first_owner(stack, signer, tenant_id)
    context = await browser.new_context(locale="en-US")
    owner_page = await context.new_page()
    await sign_in(owner_page, stack.gateway_url, email, password)
    await expect(owner_page.locator("header .tenant")).to_have_text(name)
    for path, _ in SUPPLIER_PAGES + OPERATOR_PAGES:
        assert (await owner_page.goto(stack.gateway_url + path)).status == 404, path
    await expect(owner_page.locator("#not-found")).to_be_visible()
    await context.close()

    # The owner's ticket reaches the supplier, who moves it on and answers.
    owner = await GraphQLClient.login(stack.gateway_url, email, password)
    ticket = (await open_ticket(owner, subject="Oven 2 stopped reporting"))["ticket"]
    await owner.close()
    await page.goto(stack.gateway_url + "/supplier/tickets")
    ticket_row = page.locator(f"tr[data-ticket='{ticket['id']}']")
    await expect(ticket_row).to_contain_text(name)
    await ticket_row.locator("select[name=status]").select_option("IN_PROGRESS")
    await ticket_row.locator("form", has=page.locator("select")).locator("button").click()
    await expect(ticket_row).to_have_attribute("data-status", "IN_PROGRESS")
    await ticket_row.locator("input[name=body]").fill("A technician is on the way.")
    await ticket_row.locator("button", has_text="Add comment").click()
    await expect(page.locator("#ticket-outcome")).to_have_text("Comment added to Oven 2 stopped reporting.")

    await page.goto(stack.gateway_url + "/supplier/usage")
    await expect(page.locator("#usage table")).to_contain_text(name)
    async with page.expect_download() as waiting:
        await page.click("a.download")
    csv = (await (await waiting.value).path()).read_text()
    assert csv.startswith("tenant_id,tenant,day,points,bytes_stored,active_devices,api_calls\n")
    await page.goto(stack.gateway_url + "/supplier")
    await expect(page.locator(f"tr[data-tenant='{tenant_id}'] td").nth(7)).to_have_text(
        "1"
    )  # the open ticket
    await shoot_both_languages(page, stack.gateway_url, SUPPLIER_PAGES, screenshots)
    await mine.client.close()


async def test_a_supplier_sees_nothing_of_another_suppliers_tenant(stack, signer, page):
    theirs, mine = (
        await supplier(stack, signer, "Web portal T"),
        await supplier(stack, signer, "Web portal U"),
    )
    their_tenant = await create_tenant(stack.targets["tenancy"], signer, "Their SME", supplier_id=theirs.id)
    await sign_in(page, stack.gateway_url, mine.email, mine.password, lands="/supplier")
    await expect(page.locator("#tenants")).to_have_attribute("aria-busy", "false")
    await expect(page.locator("#tenants")).to_contain_text("No tenants yet")
    await expect(page.locator(f"tr[data-tenant='{their_tenant.id}']")).to_have_count(0)
    for path in ("/supplier/usage", "/supplier/tickets"):
        await page.goto(stack.gateway_url + path)
        await expect(page.locator("[aria-busy=true]")).to_have_count(0)
        await expect(page.locator("main")).not_to_contain_text("Their SME")
    for path in (f"/machines/{their_tenant.machine_id}", "/operator", "/alarms", "/devices"):
        assert (await page.goto(stack.gateway_url + path)).status == 404, path
    await expect(page.locator("h1")).to_have_text("Not found")
    await theirs.client.close()
    await mine.client.close()


async def test_the_operator_sees_tenants_audit_reports_and_flags(stack, signer, page, screenshots):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "0 Operator view")
    owner = await GraphQLClient.login(stack.gateway_url, tenant.owner_email, tenant.owner_password)
    subject = f"Idle cell {uuid.uuid4().hex[:6]}"
    report = {"category": "MISUSE", "subject": subject, "body": "Never switched on since delivery."}
    assert data(await owner.query(FILE_REPORT, input=report))["fileReport"]["errors"] == []
    await owner.close()

    await sign_in(page, stack.gateway_url, *OPERATOR_LOGIN, lands="/operator")
    await expect(page.locator("header .tenant")).to_have_text("Operator portal")
    await expect(page.locator(f"tr[data-tenant='{tenant.id}']")).to_contain_text("0 Operator view")

    await page.goto(stack.gateway_url + "/operator/audit")
    await page.fill("#audit-search", str(tenant.id))
    created = page.locator("tr[data-action='tenant.create']:visible")
    await expect(created).to_have_count(1)
    await expect(page.locator("#audit tbody tr:visible")).not_to_have_count(0)
    assert all(
        str(tenant.id) in text for text in await page.locator("#audit tbody tr:visible").all_inner_texts()
    )

    await page.goto(stack.gateway_url + "/operator/reports")
    filed = page.locator("tr[data-report]", has_text=subject)
    await expect(filed).to_have_attribute("data-status", "RECEIVED")
    await filed.locator("select[name=status]").select_option("INVESTIGATING")
    await filed.locator("button").click()
    await expect(filed).to_have_attribute("data-status", "INVESTIGATING")

    # A tenant nobody signed into this month breaks NO_LOGINS (the owner's GraphQL sign-in counts, so a
    # fresh tenant without one).
    silent = await create_tenant(stack.targets["tenancy"], signer, "0 Silent")
    await page.goto(stack.gateway_url + "/operator/utilisation")
    flag = page.locator(f"tr[data-tenant='{silent.id}'] .flag[data-rule=NO_LOGINS]")
    await expect(flag).to_have_attribute("data-reviewed", "no", timeout=30_000)
    await flag.locator("input[name=note]").fill("New this month; called the plant.")
    await flag.locator("button").click()
    await expect(page.locator(f"tr[data-tenant='{silent.id}'] .flag[data-rule=NO_LOGINS]")).to_have_attribute(
        "data-reviewed", "yes"
    )
    for path, _ in [*SUPPLIER_PAGES, ("/alarms", "")]:
        assert (await page.goto(stack.gateway_url + path)).status == 404, path
    await shoot_both_languages(page, stack.gateway_url, OPERATOR_PAGES, screenshots)


async def test_the_operator_pages_through_the_utilisation_report(stack, admin_url, page):
    """Fifty tenants to a page, each page linking to the next with the month and the filter kept; a new filter
    starts again at the first page. March 2019's tenants are only these 60 (nobody signed in: all flagged)."""
    names = [f"Paged web {n:02d}" for n in range(60)]
    async with backdated_tenants(admin_url, names, "2019-02-10T00:00Z") as ids:
        order = [str(i) for _, i in sorted(zip(names, ids, strict=True))]
        await sign_in(page, stack.gateway_url, *OPERATOR_LOGIN, lands="/operator")
        await page.goto(stack.gateway_url + "/operator/utilisation?month=2019-03")
        rows, ahead = page.locator("#utilisation tr[data-tenant]"), page.locator("#utilisation a[rel=next]")
        await expect(rows).to_have_count(50)
        assert [await r.get_attribute("data-tenant") for r in await rows.all()] == order[:50]
        await expect(page.locator("#utilisation a[rel=first]")).to_have_count(0)
        link = parse_qs(urlsplit(await ahead.get_attribute("href")).query)
        assert (link["month"], link["flagged"], len(link["after"])) == (["2019-03"], ["1"], 1)

        await ahead.click()
        await expect(rows).to_have_count(10)
        assert [await r.get_attribute("data-tenant") for r in await rows.all()] == order[50:]
        await expect(ahead).to_have_count(0)
        await expect(page.locator("#utilisation-month")).to_have_value("2019-03")
        await switch_language(page)  # the same page in Korean, its links named in Korean
        await expect(rows).to_have_count(10)
        await expect(page.locator("#utilisation a[rel=first]")).to_have_text("첫 페이지")
        await switch_language(page)

        await page.uncheck("#flagged-only")
        await expect(rows).to_have_count(50)
        assert parse_qs(urlsplit(page.url).query) == {"month": ["2019-03"], "flagged": ["0"]}
        await expect(ahead).to_have_text("Next page")
        assert "flagged=0" in await ahead.get_attribute("href")


async def test_the_operator_sees_how_many_tenants_are_at_each_level(stack, signer, page):
    s = await supplier(stack, signer, "Levels S")
    levels = {  # a tenant's latest day counts; a suspended tenant is not live and counts nowhere
        "Level two": {"2026-01-01": 4, "2026-02-01": 2},
        "Level two again": {"2026-03-01": 2},
        "Level four": {"2026-01-01": 1, "2026-03-01": 4},
        "Below one": {"2026-03-01": 0},
        "Unassessed": {},
        "Suspended": {"2026-03-01": 5},
    }
    made = {}
    for name, days in levels.items():
        made[name] = await create_tenant(
            stack.targets["tenancy"], signer, name, series_count=1, supplier_id=s.id
        )
        await record_levels(stack, signer, made[name].id, days)
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
        tenancy = Tenancy(tenancy_pb2_grpc.TenancyServiceStub(channel), signer)
        request = pb.SetSubscriptionStateRequest(
            tenant_id=str(made["Suspended"].id), state=pb.SUBSCRIPTION_STATE_SUSPENDED
        )
        await tenancy.call("SetSubscriptionState", request, OPERATOR)
    await s.client.close()

    await sign_in(page, stack.gateway_url, *OPERATOR_LOGIN, lands="/operator")
    theirs = page.locator(f"#levels tr[data-supplier='{s.id}']")
    expected = {"0": "1", "1": "0", "2": "2", "3": "0", "4": "1", "5": "0", "none": "1"}
    for level, tenants in expected.items():
        await expect(theirs.locator(f"td[data-level='{level}']")).to_have_text(tenants)
    await expect(page.locator("#levels caption")).to_have_text("Smart-factory levels now")
    await expect(page.locator("#levels thead th")).to_have_text(
        [
            "Supplier",
            "Below level 1",
            "Level 1",
            "Level 2",
            "Level 3",
            "Level 4",
            "Level 5",
            "No assessment yet",
        ]
    )
    everyone = page.locator("#levels tr[data-supplier=all] td")
    assert sum(int(n) for n in await everyone.all_inner_texts()) >= len(levels) - 1
    await controls_are_named(page, "/operator")
    await switch_language(page)
    await expect(theirs.locator("td[data-level='2']")).to_have_text("2")
    await expect(page.locator("#levels thead th").nth(2)).to_have_text("1단계")
