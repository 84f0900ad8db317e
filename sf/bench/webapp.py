"""`webapp.page_p95_ms`: the web app's overview and machine pages until interactive, in headless Chromium.

A tenant of 50 machines with 10 series each (500 series, an hour of data at one point per 10 s) on the
in-process stack; Debian's Chromium driven by Playwright, signed in as the owner. The overview is
interactive when every machine's card links to its page; a machine page when each of its 10 live charts
is drawn (its M4 chart data fetched through GraphQL, Plotly's SVG in place). Each page is loaded 20 times; the
figure is the 95th percentile of both together. The baseline is the sign-in page (server-rendered, no
data) loaded the same way. Without Chromium the figure is left out, saying why.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import sys
import time

import numpy as np

from services.runtime.tokens import TokenSigner
from sf.bench.databases import fresh_databases
from sf.bench.figures import Figure
from sf.inprocess import InProcessStack
from sf.seeding import create_tenant, send_batches
from sfcloud.v1 import ingest_pb2

MACHINES, SERIES, LOADS = 50, 10, 20
FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


async def _seed(stack: InProcessStack, signer: TokenSigner):
    tenant = await create_tenant(
        stack.targets["tenancy"],
        signer,
        "Bench web",
        series_count=SERIES,
        machines=MACHINES,
        plan="enterprise",
    )
    now = time.time_ns()
    ts = [now - (360 - i) * 10 * 10**9 for i in range(360)]
    points = [
        ingest_pb2.SeriesPoints(
            series_id=s, timestamps_ns=ts, values=[20.0 + (i + n) % 7 for i in range(360)]
        )
        for n, s in enumerate(tenant.series_ids)
    ]
    await send_batches(
        stack.targets["ingest"], tenant.credential, [ingest_pb2.IngestRequest(batch_no=1, series=points)]
    )
    return tenant


async def _timed(page, url: str, ready) -> float:
    started = time.perf_counter()
    await page.goto(url)
    await ready(page)
    return (time.perf_counter() - started) * 1000


async def measure(admin_url: str, redis_url: str) -> dict[str, Figure]:
    from playwright.async_api import async_playwright

    key = secrets.token_urlsafe(48)
    stack = await InProcessStack(admin_url, redis_url, key).start()
    try:
        tenant = await _seed(stack, TokenSigner(key))
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=chromium(), args=FLAGS, headless=True)
            page = await browser.new_page()
            await page.goto(stack.gateway_url + "/login")
            await page.fill("input[name=email]", tenant.owner_email)
            await page.fill("input[name=password]", tenant.owner_password)
            await page.click("form[action='/login'] button[type=submit]")
            await page.wait_for_url(stack.gateway_url + "/")

            async def overview(p) -> None:  # locators, not evaluated script: the app's CSP forbids eval
                await p.locator("a[data-machine]").nth(MACHINES - 1).wait_for()

            async def machine(p) -> None:
                await p.locator("section.chart[data-points]:has(.main-svg)").nth(SERIES - 1).wait_for()

            async def login(p) -> None:
                await p.wait_for_selector("input[name=email]")

            pages: dict[str, list[float]] = {"overview": [], "machine": []}
            for _ in range(LOADS):
                pages["overview"].append(await _timed(page, stack.gateway_url + "/", overview))
                pages["machine"].append(
                    await _timed(page, f"{stack.gateway_url}/machines/{tenant.machine_id}", machine)
                )
            for name, taken in pages.items():  # the split, for whoever tunes a page
                print(
                    f"webapp: {name} p50 {np.median(taken):.0f} ms, p95 {np.percentile(taken, 95):.0f} ms",
                    file=sys.stderr,
                )
            times = pages["overview"] + pages["machine"]
            anonymous = await browser.new_page()
            baseline = [await _timed(anonymous, stack.gateway_url + "/login", login) for _ in range(LOADS)]
            await browser.close()
    finally:
        await stack.stop()
    return {
        "webapp.page_p95_ms": Figure(
            float(np.percentile(times, 95)), "ms", float(np.percentile(baseline, 95))
        )
    }


def run() -> dict[str, Figure]:
    if chromium() is None:
        print("webapp.page_p95_ms not measured: Debian's chromium is not installed", file=sys.stderr)
        return {}
    with fresh_databases() as (admin_url, redis_url):
        return asyncio.run(measure(admin_url, redis_url))
