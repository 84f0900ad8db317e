"""The SME pages in a real browser against the running stack: the overview and a machine page with
live values, the alarms inbox, Korean, and another tenant's machine. Full-page screenshots of each
page in both languages go to the folder the `screenshots` fixture prints."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import grpc
import httpx
import pytest
from playwright.async_api import expect

from gateway.auth import KEY_CACHE_S
from services.runtime.principal import Kind, Principal, Role
from tests.alarms.helpers import Device, above, alarm_api, raise_alarms, threshold_rule
from tests.e2e.provision import GraphQLClient, create_tenant, send_batches
from tests.e2e.test_bad_input import batch
from tests.webapp.conftest import CHROMIUM, NO_BROWSER, sign_in, switch_language

pytestmark = [pytest.mark.browser, pytest.mark.skipif(CHROMIUM is None, reason=NO_BROWSER)]


async def shoot(page, folder, name: str) -> None:
    """A full-page screenshot once the page's data is in (nothing is busy loading)."""
    await expect(page.locator("[aria-busy=true]")).to_have_count(0)
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
    owner = await GraphQLClient.login(stack.gateway_url, tenant.owner_email, tenant.owner_password)
    site = next(
        a["id"]
        for a in (await owner.query("{ assets { id kind } }"))["data"]["assets"]
        if a["kind"] == "site"
    )
    shifts = [{"name": "day", "startMinute": 0, "durationMinutes": 1440}]
    await owner.query(
        "mutation ($site: ID!, $zone: String!, $shifts: [ShiftInput!]!)"
        " { setSiteCalendar(siteId: $site, timeZone: $zone, shifts: $shifts) { timeZone } }",
        site=site,
        zone="Asia/Seoul",
        shifts=shifts,
    )
    await owner.http.aclose()
    await sign_in(page, stack.gateway_url, tenant.owner_email, tenant.owner_password)

    await expect(page.locator(".site-head")).to_contain_text("Time zone: Asia/Seoul")
    seoul_today = datetime.now(ZoneInfo("Asia/Seoul")).strftime("%Y-%m-%d")
    assert f"date={seoul_today}" in await page.locator(".reports a").first.get_attribute("href")
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


async def test_the_machine_page_range_is_chosen_by_keyboard_and_kept_in_the_link(stack, signer, page):
    """Switching to 1 year draws the chart from the whole year; the URL keeps the range, so a reload, a
    link or the language switch shows the same."""
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Web ranges", series_count=1, plan="pro")
    sensor = tenant.series_ids[0]
    now = time.time_ns()
    daily = [
        now - (300 - d) * 86_400 * 10**9 for d in range(300)
    ]  # a point a day, 300 days back to yesterday
    recent = [now - (60 - i) * 10**9 for i in range(60)]
    await send_batches(
        stack.targets["ingest"],
        tenant.credential,
        [batch(sensor, daily + recent, [20.0 + i % 5 for i in range(360)])],
    )
    await sign_in(page, stack.gateway_url, tenant.owner_email, tenant.owner_password)
    machine_url = f"{stack.gateway_url}/machines/{tenant.machine_id}"
    await page.goto(machine_url)
    chart = page.locator("section.chart")
    await expect(page.locator("button.range[aria-pressed=true]")).to_have_text("1 hour")
    await expect(chart).to_have_attribute("data-points", re.compile(r"^[1-9]"))
    assert int(await chart.get_attribute("data-points")) <= 60

    await page.locator("button.range[data-range='1y']").focus()
    await page.keyboard.press("Enter")
    await page.wait_for_url(machine_url + "?range=1y")
    await expect(page.locator("button.range[data-range='1y']")).to_have_attribute("aria-pressed", "true")
    year_ago = datetime.fromtimestamp(time.time() - 8760 * 3600, UTC).strftime("%Y-%m-%dT%H")
    await expect(chart).to_have_attribute("data-range", re.compile(f"^{year_ago}"))
    assert int(await chart.get_attribute("data-points")) >= 300 + 1  # every day's point and the last minute

    await page.keyboard.press("Shift+Tab")  # to 30 days, and Space presses it
    await page.keyboard.press("Space")
    await page.wait_for_url(machine_url + "?range=30d")
    await expect(page.locator("button.range[aria-pressed=true]")).to_have_text("30 days")
    await page.reload()
    await expect(page.locator("button.range[aria-pressed=true]")).to_have_text("30 days")
    await expect(chart).to_have_attribute("data-points", re.compile(r"^[1-9]"))
    assert 30 <= int(await chart.get_attribute("data-points")) < 300

    await page.goto(machine_url + "?range=1y")  # a link to the year
    await expect(page.locator("button.range[aria-pressed=true]")).to_have_text("1 year")
    await switch_language(page)
    await page.wait_for_url(machine_url + "?range=1y")
    await expect(page.locator("button.range[aria-pressed=true]")).to_have_text("1년")
    await expect(chart).to_have_attribute("data-range", re.compile(f"^{year_ago}"))

    await page.goto(machine_url + "?range=forever")  # a range the page does not offer: the hour
    await expect(page.locator("button.range[aria-pressed=true]")).to_have_text("1시간")


async def test_acknowledge_an_alarm_from_the_inbox(stack, signer, alarm_worker, page, screenshots):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Web alarms")
    owner = Principal(Kind.USER, str(uuid.uuid4()), tenant_id=tenant.id, role=Role.OWNER)
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
        rule_request = threshold_rule(tenant.series_ids[0], above(80, 5, name="Barrel too hot"))
        rule = (await alarm_api(channel, signer).call("CreateAlarmRule", rule_request, owner)).rule
    await sign_in(page, stack.gateway_url, tenant.owner_email, tenant.owner_password)
    await page.click("nav.pages >> text=Alarms")
    await expect(page.locator("#alarms table")).to_be_visible()
    await expect(page.locator("#status")).to_have_text("Live")
    await asyncio.sleep(0.5)  # the subscription reaches Redis (graphql-transport-ws has no subscribe ack)

    device = Device(stack, tenant, tenant.series_ids[0])
    device.start_after(rule)
    await device.send(70, 91.5)  # 91.5 is over 80: raised, and the inbox hears of it live
    row = page.locator("tr[data-alarm]")
    await expect(row).to_have_attribute("data-state", "RAISED", timeout=20_000)
    await expect(row).to_contain_text("Barrel too hot")
    await expect(row).to_contain_text("M-1 · sensor_0")
    await expect(row).to_contain_text("Critical")

    await row.locator("input[name=comment]").fill("on my way")
    await row.locator("button[value=acknowledge]").click()
    await expect(row).to_have_attribute("data-state", "ACKNOWLEDGED")
    await expect(page.locator("#alarm-outcome")).to_have_text("Done: Barrel too hot is Acknowledged.")
    await expect(row.locator("button[value=acknowledge]")).to_be_disabled()
    await shoot(page, screenshots, "alarms-en")

    await row.locator("input[name=comment]").fill("bearing replaced")
    await row.locator("button[value=clear]").click()
    await expect(row).to_have_count(0)  # the inbox shows open alarms: a cleared one leaves it
    await page.select_option("#alarm-filter", "all")
    await expect(page.locator("tr[data-alarm]")).to_have_attribute("data-state", "CLEARED")


async def test_the_inbox_reads_older_alarms_a_page_at_a_time(stack, signer, page):
    """The inbox shows the newest 100 open alarms and a "More alarms" button that adds the rest."""
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Web many alarms")
    await raise_alarms(stack, signer, tenant, 101)
    await sign_in(page, stack.gateway_url, tenant.owner_email, tenant.owner_password)
    await page.goto(f"{stack.gateway_url}/alarms")
    rows = page.locator("tr[data-alarm]")
    await expect(rows).to_have_count(100)
    await page.click("#alarms-more")
    await expect(rows).to_have_count(101)
    await expect(page.locator("#alarms-more")).to_have_count(0)  # the last page: nothing more to read
    ids = await rows.evaluate_all("(rows) => rows.map((r) => r.dataset.alarm)")
    assert len(set(ids)) == 101


async def test_the_pages_in_korean(stack, signer, page, browser, screenshots):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Web Korean", series_count=2)
    await send_batches(
        stack.targets["ingest"], tenant.credential, [batch(tenant.series_ids[0], [time.time_ns()], [21.5])]
    )
    await sign_in(page, stack.gateway_url, tenant.owner_email, tenant.owner_password)
    pages = [("/level", "level"), ("/devices", "devices"), ("/api-keys", "api-keys"), ("/alarms", "alarms")]
    for path, name in pages[:3]:
        await page.goto(stack.gateway_url + path)
        await shoot(page, screenshots, f"{name}-en")

    await page.goto(stack.gateway_url + "/")
    await switch_language(page)  # remembered in a cookie from here on
    await expect(page.locator("html")).to_have_attribute("lang", "ko")
    await expect(page.locator("h1")).to_have_text("공장 현황")
    await expect(page.locator("nav.pages a[aria-current=page]")).to_have_text("공장 현황")
    await expect(page.locator(".state-label")).to_have_text("상태 없음")
    assert "lang=ko" in await page.locator(".reports a").first.get_attribute("href")
    await shoot(page, screenshots, "overview-ko")
    await page.goto(f"{stack.gateway_url}/machines/{tenant.machine_id}")
    await page.locator("section.chart .main-svg").first.wait_for()
    await expect(page.locator("button.range").first).to_have_text("1시간")
    await shoot(page, screenshots, "machine-ko")
    for path, name in pages:
        await page.goto(stack.gateway_url + path)
        await shoot(page, screenshots, f"{name}-ko")
    await expect(page.locator("h1")).to_have_text("알람")
    await expect(page.locator("th").first).to_have_text("발생")

    await switch_language(page)
    await expect(page.locator("h1")).to_have_text("Alarms")

    # Without a choice, the browser's language decides.
    korean = await browser.new_context(locale="ko-KR")
    login = await korean.new_page()
    await login.goto(stack.gateway_url + "/login")
    await expect(login.locator("form[action='/login'] button[type=submit]")).to_have_text("로그인")
    await shoot(login, screenshots, "login-ko")
    await korean.close()


async def test_another_tenants_machine_is_not_found(stack, signer, page):
    mine = await create_tenant(stack.targets["tenancy"], signer, "Web tenant A")
    theirs = await create_tenant(stack.targets["tenancy"], signer, "Web tenant B")
    await sign_in(page, stack.gateway_url, mine.owner_email, mine.owner_password)
    response = await page.goto(f"{stack.gateway_url}/machines/{theirs.machine_id}")
    assert response.status == 404
    await expect(page.locator("h1")).to_have_text("Not found")
    await expect(page.locator("#not-found")).to_contain_text("belongs to another company")
    assert (await page.goto(f"{stack.gateway_url}/machines/{uuid.uuid4()}")).status == 404
    assert (await page.goto(f"{stack.gateway_url}/machines/{mine.machine_id}")).status == 200


async def test_create_an_api_key_and_use_it(stack, signer, page):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Web keys")
    await sign_in(page, stack.gateway_url, tenant.owner_email, tenant.owner_password)
    await page.goto(stack.gateway_url + "/api-keys")
    await page.fill("#create-key input[name=name]", "reporting script")
    await page.click("#create-key button[type=submit]")
    key = page.locator("#new-key-value")
    await expect(key).not_to_be_empty()
    secret = await key.inner_text()
    row = page.locator("tr[data-key]")
    await expect(row).to_contain_text("reporting script")
    async with httpx.AsyncClient(base_url=stack.gateway_url) as http:
        answer = await http.post(
            "/graphql", json={"query": "{ machines { name } }"}, headers={"authorization": f"Bearer {secret}"}
        )
        assert answer.json() == {"data": {"machines": [{"name": "M-1"}]}}
        page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        await row.locator("button.danger").click()
        await expect(row).to_contain_text("Revoked")
        await asyncio.sleep(KEY_CACHE_S)  # the gateway remembers a key for this long
        refused = await http.post(
            "/graphql", json={"query": "{ machines { name } }"}, headers={"authorization": f"Bearer {secret}"}
        )
        assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
