"""The browser the web app tests drive (Debian's chromium through Playwright), signing in, and where
screenshots go."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from services.worker.server import WorkerServer
from tests.webapp.mailing import mailing_gateway  # noqa: F401 (a gateway whose tenancy mails by SMTP)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NO_BROWSER = "Debian's chromium is not installed (apt-get install chromium)"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]  # fmt: skip


@pytest.fixture
async def browser():
    from playwright.async_api import async_playwright, expect

    # A page's data comes through several GraphQL calls to a stack shared with the whole suite on 2 cores:
    # wait up to 15 s for what a page must show (a wrong page still fails; a slow one is not wrong).
    expect.set_options(timeout=15_000)

    async with async_playwright() as playwright:
        running = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield running
        await running.close()


@pytest.fixture
async def page(browser):
    """A page in English; script errors on it fail the test."""
    context = await browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    await context.close()
    assert errors == []


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the full-page screenshots go (a test artifact; the path is printed)."""
    folder = tmp_path_factory.mktemp("screenshots", numbered=False)
    print(f"\nweb app screenshots: {folder}")
    return folder


async def sign_in(page, base_url: str, email: str, password: str, lands: str = "/") -> None:
    """Signs in from the home page; ``lands``: where this kind of user arrives (a portal's first page)."""
    await page.goto(base_url + "/")
    assert page.url.endswith("/login")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", password)
    await page.click("form[action='/login'] button[type=submit]")
    await page.wait_for_url(base_url + lands)


async def switch_language(page) -> None:
    """Switches the page's language and waits until the page in the other language has loaded (the switch is
    a form post and a redirect: acting before it lands races the navigation)."""
    from playwright.async_api import expect

    other = await page.locator("#switch-language").get_attribute("lang")
    await page.click("#switch-language")
    await expect(page.locator("html")).to_have_attribute("lang", other)
    await page.wait_for_load_state()


@pytest.fixture(scope="module")
async def alarm_worker(stack):
    """A worker that evaluates alarm rules (the shared stack's does not), each tenant with new data
    every tenth of a second."""
    settings = dataclasses.replace(
        stack.worker_settings("webapp-alarms"), alarm_interval_s=1, alarm_tick_s=0.1
    )
    worker = WorkerServer(settings)
    await worker.start()
    yield worker
    await worker.stop()
