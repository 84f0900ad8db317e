"""The web app in a real browser (Debian's chromium driven by Playwright): sign in and out, a wrong
password, the retention banner."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import grpc
import pytest
from playwright.async_api import expect

from services.runtime.cells import CellDatabases
from services.runtime.channels import CallerIdentity
from services.runtime.compaction import HOUR_NS
from services.runtime.db import Database
from services.runtime.settings import role_url
from services.tenancy.catalog import load_plans
from services.worker.directory import TenancyDirectory
from services.worker.notices import TenancyNotifier
from services.worker.retention import DAY_NS, RetentionService
from sfcloud.v1 import tenancy_pb2_grpc
from tests.e2e.provision import create_tenant
from tests.webapp.conftest import CHROMIUM, NO_BROWSER, sign_in
from tests.worker.test_retention import OnlyThese, write_blocks

pytestmark = [pytest.mark.browser, pytest.mark.skipif(CHROMIUM is None, reason=NO_BROWSER)]


async def test_wrong_password_is_refused_on_the_page(stack, signer, page):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Browser wrong")
    await page.goto(stack.gateway_url + "/login")
    await page.fill("input[name=email]", tenant.owner_email)
    await page.fill("input[name=password]", "not-the-password")
    await page.click("form[action='/login'] button[type=submit]")
    await page.wait_for_selector("p.error")
    assert "Wrong email or password" in await page.inner_text("p.error")


async def test_sign_out_ends_the_session(stack, signer, page):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Browser out")
    await sign_in(page, stack.gateway_url, tenant.owner_email, tenant.owner_password)
    await page.click("text=Sign out")
    await page.wait_for_url(stack.gateway_url + "/login")
    await page.goto(stack.gateway_url + "/")
    assert page.url.endswith("/login")


async def retention_pass(stack, signer, admin_url: str, tenant_ids: set, now_ns: int) -> None:
    """A retention pass of the worker (its own role, tenancy over gRPC) for the given tenants."""
    db = Database(role_url(admin_url, "sf_worker", None), max_size=2)
    await db.open()
    days = {code: plan.quotas["retention_days"] for code, plan in load_plans().items()}
    try:
        async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
            stub, identity = tenancy_pb2_grpc.TenancyServiceStub(channel), CallerIdentity(signer)
            directory = OnlyThese(TenancyDirectory(stub, identity, days), tenant_ids)
            cells = CellDatabases(db, {}, "sf-worker-browser-test")
            await RetentionService(cells, directory, TenancyNotifier(stub, identity)).run_pass(now_ns)
    finally:
        await db.close()


async def test_a_retention_notice_shows_as_a_banner(stack, signer, admin_url, admin_conn, page):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Browser retention", plan="starter")
    now = time.time_ns()
    write_blocks(admin_conn, tenant.id, tenant.series_ids[0], (now - 29 * DAY_NS) // HOUR_NS * HOUR_NS, 3)
    await retention_pass(stack, signer, admin_url, {tenant.id}, now)
    await sign_in(page, stack.gateway_url, tenant.owner_email, tenant.owner_password)
    banner = page.locator("#retention")
    await expect(banner).to_be_visible()
    deletes_before = datetime.fromtimestamp((now - 23 * DAY_NS) / 1e9, UTC).strftime("%Y-%m-%d")
    await expect(banner).to_contain_text(f"Data recorded before {deletes_before}")
    await expect(banner).to_contain_text("the starter plan keeps 30 days")
    await expect(banner).to_contain_text("move to a plan that keeps data longer or export it")
