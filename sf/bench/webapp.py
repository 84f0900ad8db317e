"""The web app in headless Chromium: `webapp.page_p95_ms`, its pages until interactive, and `webapp.year_chart_ms`.

A tenant of 50 machines with 10 series each (500 series, an hour of data at one point per 10 s) on the
in-process stack; Debian's Chromium driven by Playwright, signed in as the owner. The overview is
interactive when every machine's card links to its page; a machine page when each of its 10 live charts
is drawn (its M4 chart data fetched through GraphQL, Plotly's SVG in place). Each page is loaded 20 times; the
figure is the 95th percentile of both together. The baseline is the sign-in page (server-rendered, no
data) loaded the same way.

`webapp.year_chart_ms` (issue #9: a year of 1 Hz data renders in the time of an hour): another tenant's
machine with one series holding a year at 1 Hz up to now (31.5 M points, written as hourly blocks the way
`sf/bench/queries.py` writes them), its page opened with `?range=1y` until its chart is drawn with data;
the baseline is the same page with `?range=1h`, the two alternating, 20 loads each after one unmeasured
load each (the first reads the year into PostgreSQL's cache: printed, not counted); p95 of each. Without
Chromium both figures are left out, saying why.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import sys
import time
import uuid

import numpy as np
import psycopg

from services.ingest import partitions
from services.runtime.tokens import TokenSigner
from sf.bench.databases import fresh_databases
from sf.bench.figures import Figure
from sf.bench.queries import YEAR, sensor, write_blocks
from sf.inprocess import InProcessStack
from sf.seeding import SeededTenant, create_tenant, send_batches
from sfcloud.v1 import ingest_pb2

MACHINES, SERIES, LOADS = 50, 10, 20
YEAR_POINTS_DRAWN = 100  # a year's chart has a point or more per pixel column; fewer means data went missing
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


def _write_year(admin_url: str, tenant_id: uuid.UUID, series_id: uuid.UUID) -> None:
    """A year at 1 Hz ending now, as hourly blocks in the weekly partitions a live cell would have."""
    end_ns = time.time_ns() // 10**9 * 10**9
    ts, vs = sensor(end_ns - YEAR * 10**9, YEAR, 1, seed=9)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        partitions.ensure(conn, int(ts[0]), end_ns)
        with conn.transaction():
            write_blocks(conn, tenant_id, series_id, ts, vs)
        conn.execute("VACUUM ANALYZE telemetry.blocks")


async def _seed_year(stack: InProcessStack, signer: TokenSigner, admin_url: str) -> SeededTenant:
    """A tenant whose one machine has one series holding a year at 1 Hz."""
    tenant = await create_tenant(
        stack.targets["tenancy"], signer, "Bench web year", series_count=1, plan="pro"
    )
    started = time.perf_counter()
    await asyncio.to_thread(_write_year, admin_url, tenant.id, uuid.UUID(tenant.series_ids[0]))
    print(f"webapp: a year of 1 Hz written in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return tenant


async def _sign_in(page, base_url: str, tenant: SeededTenant) -> None:
    await page.goto(base_url + "/login")
    await page.fill("input[name=email]", tenant.owner_email)
    await page.fill("input[name=password]", tenant.owner_password)
    await page.click("form[action='/login'] button[type=submit]")
    await page.wait_for_url(base_url + "/")


async def _timed(page, url: str, ready) -> float:
    started = time.perf_counter()
    await page.goto(url)
    await ready(page)
    return (time.perf_counter() - started) * 1000


async def _pages_p95(browser, base_url: str, tenant: SeededTenant) -> Figure:
    """``webapp.page_p95_ms``: the overview and a machine page of ``tenant``; the sign-in page as baseline."""
    page = await browser.new_page()
    await _sign_in(page, base_url, tenant)

    async def overview(p) -> None:  # locators, not evaluated script: the app's CSP forbids eval
        await p.locator("a[data-machine]").nth(MACHINES - 1).wait_for()

    async def machine(p) -> None:
        await p.locator("section.chart[data-points]:has(.main-svg)").nth(SERIES - 1).wait_for()

    async def login(p) -> None:
        await p.wait_for_selector("input[name=email]")

    pages: dict[str, list[float]] = {"overview": [], "machine": []}
    for _ in range(LOADS):
        pages["overview"].append(await _timed(page, base_url + "/", overview))
        pages["machine"].append(await _timed(page, f"{base_url}/machines/{tenant.machine_id}", machine))
    _print_split(pages)
    anonymous = await browser.new_page()
    baseline = [await _timed(anonymous, base_url + "/login", login) for _ in range(LOADS)]
    times = pages["overview"] + pages["machine"]
    return Figure(float(np.percentile(times, 95)), "ms", float(np.percentile(baseline, 95)))


async def _year_chart(browser, base_url: str, tenant: SeededTenant) -> Figure:
    """``webapp.year_chart_ms``: the machine page's chart over the year; the same over the hour as baseline."""
    page = await browser.new_page()
    await _sign_in(page, base_url, tenant)
    chart = page.locator("section.chart[data-points]:not([data-points='0']):has(.main-svg)")

    async def drawn(p) -> None:
        await chart.wait_for()

    def url(key: str) -> str:
        return f"{base_url}/machines/{tenant.machine_id}?range={key}"

    pages: dict[str, list[float]] = {"1y": [], "1h": []}
    for key in pages:  # one unmeasured load each: the first reads the year from disk into PostgreSQL's cache
        cold = await _timed(page, url(key), drawn)
        print(f"webapp: machine ?range={key} first load {cold:.0f} ms (not counted)", file=sys.stderr)
    for _ in range(LOADS):  # alternating, so a slow moment of the machine falls on both
        for key, taken in pages.items():
            taken.append(await _timed(page, url(key), drawn))
            await _check_range(page, chart, key)
    _print_split({f"machine ?range={key}": taken for key, taken in pages.items()})
    return Figure(float(np.percentile(pages["1y"], 95)), "ms", float(np.percentile(pages["1h"], 95)))


async def _check_range(page, chart, key: str) -> None:
    """The chart drew what was asked: its button pressed, its range that long, a year with many points."""
    pressed = await page.locator("button.range[aria-pressed=true]").get_attribute("data-range")
    start, end = (await chart.get_attribute("data-range")).split("/")
    hours = (np.datetime64(end.rstrip("Z")) - np.datetime64(start.rstrip("Z"))) / np.timedelta64(1, "h")
    points = int(await chart.get_attribute("data-points"))
    assert pressed == key and hours == {"1y": 8760, "1h": 1}[key], (pressed, start, end)
    assert key == "1h" or points >= YEAR_POINTS_DRAWN, points


def _print_split(pages: dict[str, list[float]]) -> None:
    """Each page's p50 and p95, for whoever tunes a page."""
    for name, taken in pages.items():
        print(
            f"webapp: {name} p50 {np.median(taken):.0f} ms, p95 {np.percentile(taken, 95):.0f} ms",
            file=sys.stderr,
        )


async def measure(admin_url: str, redis_url: str) -> dict[str, Figure]:
    from playwright.async_api import async_playwright

    key = secrets.token_urlsafe(48)
    stack = await InProcessStack(admin_url, redis_url, key).start()
    try:
        tenant = await _seed(stack, TokenSigner(key))
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=chromium(), args=FLAGS, headless=True)
            pages = await _pages_p95(browser, stack.gateway_url, tenant)
            year = await _seed_year(stack, TokenSigner(key), admin_url)  # after: the pages' figure as before
            figures = {
                "webapp.page_p95_ms": pages,
                "webapp.year_chart_ms": await _year_chart(browser, stack.gateway_url, year),
            }
            await browser.close()
    finally:
        await stack.stop()
    return figures


def run() -> dict[str, Figure]:
    if chromium() is None:
        print("webapp figures not measured: Debian's chromium is not installed", file=sys.stderr)
        return {}
    with fresh_databases() as (admin_url, redis_url):
        return asyncio.run(measure(admin_url, redis_url))
