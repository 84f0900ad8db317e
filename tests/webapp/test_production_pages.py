"""The OEE and SPC pages, and the machine page's OEE breakdown, in a real browser against the running
stack with two days of a simulated machine (the `sf simulate` model, sent through ingest): the OEE the
page shows is the API's for the same days, the control chart is drawn with its limits and violations,
both languages, and another tenant's asset or series is not found. Screenshots go where the others do."""

from __future__ import annotations

import re
import time
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import grpc
import numpy as np
import pytest
from playwright.async_api import expect

from gateway.graphql.scalars import format_timestamp
from sf.simulate.feed import BATCH_TICKS, MachineFeed, TickClock
from sf.simulate.signals import GENERIC, MachineModel
from sfcloud.v1 import ingest_pb2, tenancy_pb2, tenancy_pb2_grpc
from tests.e2e.provision import GraphQLClient, create_tenant, send_batches
from tests.isolation.test_rls import _as
from tests.webapp.conftest import CHROMIUM, NO_BROWSER, sign_in, switch_language
from tests.webapp.test_pages import shoot

pytestmark = [pytest.mark.browser, pytest.mark.skipif(CHROMIUM is None, reason=NO_BROWSER)]

ZONE = ZoneInfo("Asia/Seoul")
TICK_S = 10
BATCHES = 58  # of BATCH_TICKS ten-second ticks: two days and 20 minutes
SIMULATED_S = BATCHES * BATCH_TICKS * TICK_S
SERIES = [
    {"name": "spindle_temp", "kind": "gauge", "unit": "degC", "decimals": 1},
    {"name": "state", "kind": "state", "unit": "", "decimals": 0},
    {"name": "parts_total", "kind": "counter", "unit": "", "decimals": 0},
    {"name": "parts_scrap", "kind": "counter", "unit": "", "decimals": 0},
]
SHIFTS = [
    {"name": "day", "startMinute": 360, "durationMinutes": 720},
    {"name": "night", "startMinute": 1080, "durationMinutes": 720},
]
SETUP = """mutation ($site: ID!, $machine: ID!, $shifts: [ShiftInput!]!) {
  setSiteCalendar(siteId: $site, timeZone: "Asia/Seoul", shifts: $shifts) { timeZone }
  setMachineOeeSettings(input: {machineId: $machine, idealCycleSeconds: 30}) { idealCycleSeconds } }"""
OEE = """query ($asset: ID!, $from: Timestamp!, $to: Timestamp!) {
  oee(assetId: $asset, from: $from, to: $to, by: DAY) { total { oee availability } results { date } } }"""
EVENTS = """query ($series: ID!, $from: Timestamp!, $to: Timestamp!) {
  spcEvents(seriesId: $series, from: $from, to: $to, first: 200) { events { id } hasMore } }"""


async def simulate(stack, tenant, series_ids: list[str]) -> None:
    """The last two days of a simulated machine up to now, ten seconds a sample, in the simulator's batches."""
    origin = (time.time_ns() - SIMULATED_S * 10**9) // 10**9 * 10**9
    clock = TickClock(origin_ns=origin, dt_ns=TICK_S * 10**9, live_tick=0, live_at=0.0)
    model = MachineModel(SERIES, GENERIC, np.random.default_rng(7), dt_s=TICK_S)
    feed = MachineFeed(model, series_ids, clock)
    batches = [
        ingest_pb2.IngestRequest(batch_no=n, series=feed.take(BATCH_TICKS)) for n in range(1, BATCHES + 1)
    ]
    await send_batches(stack.targets["ingest"], tenant.credential, batches)


@pytest.fixture(scope="module")
async def plant(stack, signer):
    """A tenant whose one machine ran for two days (Seoul shifts, ideal cycle 30 s): (tenant, site id,
    series ids by name)."""
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Web production", series_count=0)
    metadata = _as(signer, tenant.id)
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
        stub = tenancy_pb2_grpc.TenancyServiceStub(channel)
        series = {}
        for s in SERIES:
            request = tenancy_pb2.CreateSeriesRequest(machine_id=tenant.machine_id, **s)
            series[s["name"]] = (await stub.CreateSeries(request, metadata=metadata, timeout=10)).series.id
        tree = (await stub.ListAssets(tenancy_pb2.ListAssetsRequest(), metadata=metadata, timeout=10)).assets
    site = next(a.id for a in tree if a.kind == tenancy_pb2.ASSET_KIND_SITE)
    await simulate(stack, tenant, list(series.values()))
    client = await GraphQLClient.login(stack.gateway_url, tenant.owner_email, tenant.owner_password)
    assert "errors" not in await client.query(SETUP, site=site, machine=tenant.machine_id, shifts=SHIFTS)
    yield tenant, site, series, client
    await client.close()


def last_two_days() -> tuple[str, str, str, str]:
    """The two production days before the current one (a day starts with its 06:00 shift, in Seoul):
    (first, last, from, to) as the page and the API say them."""
    today = (datetime.now(ZONE) - timedelta(hours=6)).replace(hour=6, minute=0, second=0, microsecond=0)
    first = today - timedelta(days=2)
    stamp = lambda d: format_timestamp(int(d.timestamp()) * 10**9)  # noqa: E731
    return (
        first.date().isoformat(),
        (today - timedelta(days=1)).date().isoformat(),
        stamp(first),
        stamp(today),
    )


async def points(plot) -> int:
    """How many points the chart drew, once it is drawn."""
    await expect(plot).to_have_attribute("data-points", re.compile(r"^\d+$"))
    return int(await plot.get_attribute("data-points"))


async def test_oee_page_shows_the_apis_figures(stack, plant, page, screenshots):
    tenant, site, _, client = plant
    first, last, start, end = last_two_days()
    expected = (await client.query(OEE, asset=site, **{"from": start, "to": end}))["data"]["oee"]
    assert expected["total"]["oee"] is not None and [r["date"] for r in expected["results"]] == [first, last]
    await sign_in(page, stack.gateway_url, tenant.owner_email, tenant.owner_password)
    await page.click("nav.pages >> text=OEE")
    await expect(page.locator("#oee-total")).to_be_visible()  # the last week by default
    assert await page.input_value("#oee-asset") == site

    await page.fill("#oee-from", first)
    await page.fill("#oee-to", last)
    await page.click("#oee-form button[type=submit]")
    total = page.locator("#oee-total")
    await expect(page.locator("#oee-summary h2")).to_contain_text("Plant:")
    await expect(page.locator("#oee-trend .plot")).to_have_attribute("data-points", "2")
    assert float(await total.get_attribute("data-oee")) == pytest.approx(expected["total"]["oee"], abs=1e-12)
    shown = f"{expected['total']['oee'] * 100:.1f}%"
    await expect(total.locator(".oee-part.oee .oee-value")).to_have_text(shown)
    availability = f"{expected['total']['availability'] * 100:.1f}%"
    await expect(total.locator(".oee-part.availability .oee-value")).to_have_text(availability)
    await expect(page.locator("#oee-machines tbody tr")).to_have_count(1)
    await expect(page.locator("#oee-machines tbody tr td").nth(4)).to_have_text(shown)  # its only machine
    await expect(page.locator("#oee-days tbody tr")).to_have_count(2)
    shift_names = await page.locator("#oee-shifts tbody tr td:nth-child(2)").all_inner_texts()
    assert set(shift_names) == {"day", "night"}
    await expect(page.locator("#oee-losses tbody tr").first).to_be_visible()
    assert f"from={first}" in page.url and f"asset={site}" in page.url  # a link to this view
    await shoot(page, screenshots, "oee-en")

    # The machine's page has its last week's breakdown, leading here for the details.
    await page.goto(f"{stack.gateway_url}/machines/{tenant.machine_id}")
    breakdown = page.locator("#machine-oee-figures")
    await expect(breakdown.locator(".oee-part.oee .oee-value")).to_have_text(re.compile(r"^\d+\.\d%$"))
    await expect(page.locator("#machine-oee table tbody tr").first).to_be_visible()
    await page.click("#machine-oee a")
    await expect(page.locator("#oee-asset")).to_have_value(tenant.machine_id)
    await expect(page.locator("#oee-total")).to_be_visible()


async def test_spc_page_draws_the_chart_and_stores_events(stack, plant, page, screenshots):
    tenant, _, series, client = plant
    await sign_in(page, stack.gateway_url, tenant.owner_email, tenant.owner_password)
    await page.click("nav.pages >> text=SPC")
    # the first gauge (the page's script runs once the chart library is in)
    await expect(page.locator("#spc-series")).to_have_value(series["spindle_temp"], timeout=15_000)
    plot = page.locator(".spc-plot")
    assert (
        300 < await points(plot) <= 360
    )  # the last hour of ten-second samples (up to the fixture's time), I-MR

    await page.select_option("#spc-range", "8")
    await page.select_option("#spc-kind", "XBAR_R")
    await expect(page.locator("#spc-subgroup")).to_be_enabled()
    await page.fill("#spc-subgroup", "4")
    await page.fill("#spc-lsl", "20")
    await page.fill("#spc-usl", "50")
    await page.click("#spc-form button[type=submit]")
    await expect(plot).to_have_attribute("data-points", re.compile(r"^7[01]\d$"))  # 8 h of samples in fours
    assert await plot.locator(".scatterlayer .trace").count() == 8  # values, limits, violations, ranges
    figures = page.locator("#spc-figures")
    await expect(figures.locator("div", has_text="Cpk").locator("dd")).to_have_text(re.compile(r"\d"))
    violations = int(await plot.get_attribute("data-violations"))
    assert violations > 0  # a machine warming up and cooling down is no stable process
    marked = int(await plot.get_attribute("data-marked"))  # one mark a point, however many rules it breaks
    assert 0 < marked <= violations
    await expect(plot.locator(".scatterlayer .trace").nth(4).locator(".point")).to_have_count(marked)
    latest = page.locator("#spc-chart table tbody tr")
    await expect(latest).to_have_count(min(violations, 200))
    await expect(page.locator("#spc-events")).to_contain_text("No stored events")

    await page.click("#spc-record")  # the chart on screen's violations
    outcome = page.locator("#spc-record-outcome")
    await expect(outcome).to_have_text(  # thousands of rows: give a busy machine time
        f"Stored {violations} new events (0 were stored before).", timeout=30_000
    )
    now = datetime.now(ZONE)
    stored = await client.query(
        EVENTS,
        series=series["spindle_temp"],
        **{"from": format_timestamp(int((now - timedelta(hours=9)).timestamp()) * 10**9),
           "to": format_timestamp(int(now.timestamp()) * 10**9)},
    )  # fmt: skip
    page_of_events = stored["data"]["spcEvents"]
    rows = page.locator("#spc-events tr[data-event]")
    await expect(rows).to_have_count(min(violations, 200))  # the oldest 200, as the API pages them
    assert [await row.get_attribute("data-event") for row in await rows.all()] == [
        e["id"] for e in page_of_events["events"]
    ]
    assert page_of_events["hasMore"] == (violations > 200)
    if violations > 200:
        await expect(page.locator("#spc-events")).to_contain_text("the first 200 are shown")
    await shoot(page, screenshots, "spc-en")


async def test_the_production_pages_in_korean(stack, plant, page, screenshots):
    tenant, site, series, _ = plant
    await sign_in(page, stack.gateway_url, tenant.owner_email, tenant.owner_password)
    await page.goto(f"{stack.gateway_url}/oee?asset={site}")
    await switch_language(page)
    await expect(page.locator("html")).to_have_attribute("lang", "ko")
    await expect(page.locator("h1")).to_have_text("설비종합효율(OEE)")
    await expect(page.locator("nav.pages a[aria-current=page]")).to_have_text("설비종합효율")
    await expect(page.locator("#oee-total .oee-part.availability .oee-name")).to_have_text("시간가동률")
    await expect(page.locator("#oee-days th").first).to_have_text("일자")
    await expect(page.locator("#oee-trend .plot")).to_have_attribute("data-points", "7")
    await shoot(page, screenshots, "oee-ko")

    await page.goto(f"{stack.gateway_url}/spc?series={series['spindle_temp']}")
    await expect(page.locator("h1")).to_have_text("통계적 공정관리(SPC)")
    assert await points(page.locator(".spc-plot")) > 300
    await expect(page.locator("#spc-figures dt").first).to_have_text("중심선")
    await expect(page.locator("#spc-kind option").first).to_have_text("I-MR (개별값)")
    await shoot(page, screenshots, "spc-ko")

    await page.goto(f"{stack.gateway_url}/machines/{tenant.machine_id}")
    await expect(page.locator("#oee-heading")).to_have_text("설비종합효율(OEE) 분석")
    await expect(page.locator("#machine-oee-figures .oee-part.quality .oee-name")).to_have_text("양품률")
    await shoot(page, screenshots, "machine-oee-ko")


async def test_another_tenants_asset_or_series_is_not_found(stack, signer, plant, page):
    theirs, their_site, their_series, _ = plant
    mine = await create_tenant(stack.targets["tenancy"], signer, "Web production B")
    await sign_in(page, stack.gateway_url, mine.owner_email, mine.owner_password)
    for path in (
        f"/oee?asset={their_site}",
        f"/oee?asset={theirs.machine_id}",
        f"/oee?asset={uuid.uuid4()}",
        f"/spc?series={their_series['spindle_temp']}",
        f"/spc?series={uuid.uuid4()}",
        "/spc?series=not-an-id",
    ):
        response = await page.goto(stack.gateway_url + path)
        assert response.status == 404, path
        await expect(page.locator("h1")).to_have_text("Not found")
    for path in (f"/oee?asset={mine.machine_id}", f"/spc?series={mine.series_ids[0]}", "/oee", "/spc"):
        assert (await page.goto(stack.gateway_url + path)).status == 200, path
