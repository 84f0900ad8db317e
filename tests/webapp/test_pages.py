"""The SME pages in a real browser against the running stack: the overview and a machine page with
live values, the alarms inbox, Korean, and another tenant's machine. Full-page screenshots of each
page in both languages go to the folder the `screenshots` fixture prints."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime

import pytest
from playwright.async_api import expect

from tests.e2e.provision import create_tenant, send_batches
from tests.e2e.test_bad_input import batch
from tests.webapp.conftest import CHROMIUM, NO_BROWSER, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.skipif(CHROMIUM is None, reason=NO_BROWSER)]


async def shoot(page, folder, name: str) -> None:
    await page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


async def until_updated(stack, tenant, series_id: str, value: float, element) -> None:
    """Like a device: a value each half second until the page shows one arrive live (its subscription
    may land after the page looks ready)."""
    for _ in range(20):
        await send_batches(
            stack.targets["ingest"], tenant.credential, [batch(series_id, [time.time_ns()], [value])]
        )
        if await element.get_attribute("data-updates"):
            return
        await asyncio.sleep(0.5)
    raise AssertionError("no live value arrived")


async def test_overview_and_machine_page_show_live_data(stack, signer, page, screenshots):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Web overview", series_count=2, machines=2)
    sensor = tenant.series_ids[0]
    now = time.time_ns()
    history = [now - (60 - i) * 10**9 for i in range(60)]
    await send_batches(
        stack.targets["ingest"],
        tenant.credential,
        [batch(sensor, history, [20.0 + i % 5 for i in range(60)])],
    )
    await sign_in(page, stack.gateway_url, tenant.owner_email, tenant.owner_password)

    links = page.locator("a[data-machine]")
    await expect(links).to_have_text(["M-1", "M-2"])
    reading = page.locator(f'[data-series="{sensor}"] .value')
    await expect(reading).to_have_text("24.000 degC")
    await expect(page.locator("#status")).to_have_text("Live")
    await until_updated(stack, tenant, sensor, 31.5, reading)
    await expect(reading).to_have_text("31.500 degC")
    report = page.locator(".reports a").last
    assert (await report.get_attribute("href")).startswith("/reports/plant?site=")
    assert "period=month" in await report.get_attribute("href")
    await shoot(page, screenshots, "overview-en")

    await links.first.click()
    await page.wait_for_url(f"{stack.gateway_url}/machines/{tenant.machine_id}")
    chart = page.locator('section.chart[data-series="sensor_0"]')
    await chart.locator(".main-svg").first.wait_for()
    # The minute of 60 points fills about 10 of the hour's pixel columns, at most 4 points each (M4).
    assert int(await chart.get_attribute("data-points")) >= 20
    await expect(page.locator("#machine-title")).to_contain_text("M-1 — Line 1, Plant")
    await until_updated(stack, tenant, sensor, 33.25, chart)
    await expect(chart.locator(".value")).to_have_text("33.250")

    hour = await chart.get_attribute("data-range")
    box = await chart.locator(
        ".nsewdrag"
    ).first.bounding_box()  # Plotly's drag area: a zoom asks the server again
    await page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2)
    await page.mouse.down()
    await page.mouse.move(box["x"] + box["width"] * 0.9, box["y"] + box["height"] / 2, steps=5)
    await page.mouse.up()
    await expect(chart).not_to_have_attribute("data-range", hour)
    zoomed_from, zoomed_to = (await chart.get_attribute("data-range")).split("/")
    assert zoomed_from > hour.split("/")[0] and zoomed_to < hour.split("/")[1]

    await page.click("button.range[data-hours='8760']")  # a year: still one column per pixel
    await expect(page.locator("button.range[data-hours='8760']")).to_have_attribute("aria-pressed", "true")
    year_ago = datetime.fromtimestamp(time.time() - 8760 * 3600, UTC).strftime("%Y-%m-%dT%H")
    await expect(chart).to_have_attribute("data-range", re.compile(f"^{year_ago}"))
    assert int(await chart.get_attribute("data-points")) >= 4
    await shoot(page, screenshots, "machine-en")
