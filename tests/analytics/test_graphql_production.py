"""OEE and SPC through GraphQL, with data sent by a device through real ingest: the mutations that
configure a site and a machine, a day's OEE worked by hand, an SPC chart, its events, and bad input."""

from __future__ import annotations

import datetime as dt
import secrets

import grpc
import pytest

from gateway.graphql.scalars import format_timestamp
from sfcloud.v1 import tenancy_pb2, tenancy_pb2_grpc
from tests.e2e.provision import GraphQLClient, create_tenant, send_batches
from tests.e2e.test_bad_input import batch
from tests.isolation.test_rls import _as

MIN = 60 * 10**9
CALENDAR = """mutation($site: ID!) { setSiteCalendar(siteId: $site, timeZone: "UTC",
  shifts: [{name: "all day", startMinute: 0, durationMinutes: 1440}]) { timeZone shifts { name } } }"""
SETTINGS = """mutation($machine: ID!) { setMachineOeeSettings(input: {machineId: $machine, idealCycleSeconds: 30})
  { idealCycleSeconds stateSeriesId totalSeriesId scrapSeriesId runStates maxGapSeconds } }"""
OEE = """query($asset: ID!, $from: Timestamp!, $to: Timestamp!) { oee(assetId: $asset, from: $from, to: $to, by: DAY) {
  timeZone results { label date figures { plannedSeconds runSeconds totalCount scrapCount goodCount availability
  performance quality oee speedLossSeconds scrapLossSeconds downtime { state label seconds } } } total { oee }
  machineIds machines { machineId figures { oee runSeconds } } } }"""
CHART = """query($input: SpcChartInput!) { spcChart(input: $input) {
  valueLimits { center lower upper } rangeLimits { upper } sigma points { value range } violations { at rule value }
  cp cpk } }"""
RECORD = "mutation($input: SpcChartInput!) { recordSpcEvents(input: $input) { recorded { rule value } alreadyStored } }"
EVENTS = """query($series: ID!, $from: Timestamp!, $to: Timestamp!) { spcEvents(seriesId: $series, from: $from,
  to: $to) { events { rule value chart valueLimits { upper } } hasMore } }"""


@pytest.fixture(scope="module")
async def factory(stack, signer):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "GraphQL OEE")
    metadata = _as(signer, tenant.id)
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
        stub = tenancy_pb2_grpc.TenancyServiceStub(channel)
        series = {}
        for name, kind in (("state", "state"), ("parts_total", "counter"), ("parts_scrap", "counter")):
            request = tenancy_pb2.CreateSeriesRequest(
                machine_id=tenant.machine_id, name=name, unit="", kind=kind
            )
            series[name] = (await stub.CreateSeries(request, metadata=metadata, timeout=10)).series.id
        tree = (await stub.ListAssets(tenancy_pb2.ListAssetsRequest(), metadata=metadata, timeout=10)).assets
    site = next(a.id for a in tree if a.kind == tenancy_pb2.ASSET_KIND_SITE)
    client = await GraphQLClient.login(stack.gateway_url, tenant.owner_email, tenant.owner_password)
    yield tenant, series, site, client
    await client.close()


async def test_a_days_oee_configured_and_read_through_graphql(stack, factory):
    """Yesterday (UTC), one 24-hour shift, ideal cycle 30 s. The state is sampled every 5 minutes (held
    300 s, the default cap): RUN all day except DOWN 08:00-10:00, so run = 86,400 - 7,200 = 79,200 s.
    The counter reads 0 at 23:59 the day before, then +100 at the end of each of 20 hours: 2,000 parts;
    scrap reads 0, then 20 at 20:00.
        availability = 79,200 / 86,400 = 0.916667; performance = 30 x 2,000 / 79,200 = 0.757576;
        quality = 1,980 / 2,000 = 0.99; OEE = 30 x 1,980 / 86,400 = 0.6875;
        speed loss = 79,200 - 60,000 = 19,200 s; scrap loss = 30 x 20 = 600 s."""
    tenant, series, site, client = factory
    day = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0) - dt.timedelta(days=1)
    start = int(day.timestamp()) * 10**9
    states = [(start + k * 5 * MIN, 2.0 if 96 <= k < 120 else 1.0) for k in range(288)]
    counts = [(start - MIN, 0.0)] + [(start + h * 60 * MIN - MIN, 100.0 * h) for h in range(1, 21)]
    scrap = [(start - MIN, 0.0), (start + 20 * 60 * MIN, 20.0)]
    batches = [
        batch(series[name], [t for t, _ in points], [v for _, v in points], batch_no=n)
        for n, (name, points) in enumerate(
            (("state", states), ("parts_total", counts), ("parts_scrap", scrap)), 1
        )
    ]
    await send_batches(stack.targets["ingest"], tenant.credential, batches)

    calendar = await client.query(CALENDAR, site=site)
    assert calendar["data"]["setSiteCalendar"] == {"timeZone": "UTC", "shifts": [{"name": "all day"}]}
    settings = (await client.query(SETTINGS, machine=tenant.machine_id))["data"]["setMachineOeeSettings"]
    assert settings == {
        "idealCycleSeconds": 30.0,
        "stateSeriesId": series["state"],
        "totalSeriesId": series["parts_total"],
        "scrapSeriesId": series["parts_scrap"],
        "runStates": [1],
        "maxGapSeconds": 300,
    }
    noon = format_timestamp(start + 12 * 60 * MIN)
    body = await client.query(OEE, asset=site, **{"from": noon, "to": noon})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"  # an empty range
    body = await client.query(
        OEE, asset=site, **{"from": noon, "to": format_timestamp(start + 13 * 60 * MIN)}
    )
    report = body["data"]["oee"]
    (result,) = report["results"]
    f = result["figures"]
    assert (result["label"], result["date"]) == (day.date().isoformat(), day.date().isoformat())
    assert (f["plannedSeconds"], f["runSeconds"], f["totalCount"], f["scrapCount"], f["goodCount"]) == (
        86_400, 79_200, 2_000, 20, 1_980
    )  # fmt: skip
    assert (f["availability"], f["performance"], f["quality"], f["oee"]) == pytest.approx(
        (79_200 / 86_400, 60_000 / 79_200, 0.99, 0.6875)
    )
    assert (f["speedLossSeconds"], f["scrapLossSeconds"]) == pytest.approx((19_200, 600))
    assert f["downtime"] == [{"state": 2, "label": "DOWN", "seconds": 7200.0}]
    assert report["total"]["oee"] == pytest.approx(0.6875)
    # the site's one machine: its own figures are the site's
    assert report["machines"] == [
        {"machineId": tenant.machine_id, "figures": {"oee": report["total"]["oee"], "runSeconds": 79_200}}
    ]
    assert report["machineIds"] == [tenant.machine_id]


async def test_spc_through_graphql(stack, factory):
    """Values 5, 7, 6, 8, 7 then 12 (test_spc_rules.py works out the limits): 12 breaks rule 1; recorded
    once as an event; Cp/Cpk need specification limits (BAD_USER_INPUT, SPEC_LIMITS_REQUIRED)."""
    tenant, _, _, client = factory
    gauge = tenant.series_ids[0]
    t0 = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)).replace(microsecond=0)
    start = int(t0.timestamp()) * 10**9
    values = [5.0, 7, 6, 8, 7, 12]
    await send_batches(
        stack.targets["ingest"],
        tenant.credential,
        [batch(gauge, [start + i * MIN for i in range(6)], values)],
    )
    chart = {
        "seriesId": gauge,
        "from": format_timestamp(start),
        "to": format_timestamp(start + 6 * MIN),
        "baselineFrom": format_timestamp(start),
        "baselineTo": format_timestamp(start + 5 * MIN),
        "chart": "I_MR",
    }
    answer = (
        await client.query(CHART, input={**chart, "lowerSpec": 2, "upperSpec": 12, "capability": True})
    )["data"]
    spc = answer["spcChart"]
    assert spc["valueLimits"]["center"] == pytest.approx(6.6)
    assert spc["valueLimits"]["upper"] == pytest.approx(10.589362, abs=1e-6)
    assert [p["range"] for p in spc["points"]] == [None, 2, 1, 2, 1, 5]
    assert [(v["rule"], v["value"]) for v in spc["violations"]] == [(1, 12.0)]
    assert (spc["cp"], spc["cpk"]) == pytest.approx((1.253333, 1.153067), abs=1e-6)

    refused = await client.query(CHART, input={**chart, "capability": True})
    error = refused["errors"][0]
    assert (error["extensions"]["code"], error["extensions"]["reason"]) == (
        "BAD_USER_INPUT",
        "SPEC_LIMITS_REQUIRED",
    )
    assert "specification limits" in error["message"]

    first = (await client.query(RECORD, input=chart))["data"]["recordSpcEvents"]
    again = (await client.query(RECORD, input=chart))["data"]["recordSpcEvents"]
    assert (first, again) == (
        {"recorded": [{"rule": 1, "value": 12.0}], "alreadyStored": 0},
        {"recorded": [], "alreadyStored": 1},
    )
    events = await client.query(EVENTS, series=gauge, **{"from": chart["from"], "to": chart["to"]})
    assert events["data"]["spcEvents"] == {
        "events": [
            {"rule": 1, "value": 12.0, "chart": "I_MR", "valueLimits": {"upper": pytest.approx(10.589362)}}
        ],
        "hasMore": False,
    }
    other = await client.query(
        CHART, input={**chart, "seriesId": f"00000000-0000-4000-8000-{secrets.token_hex(6)}"}
    )
    assert other["errors"][0]["extensions"]["code"] == "NOT_FOUND"


UPDATE_CALENDAR = """mutation($site: ID!, $shifts: [ShiftInput!]!) { updateSiteCalendar(siteId: $site,
  timeZone: "UTC", shifts: $shifts) { calendar { timeZone shifts { name } } errors { field code message } } }"""
UPDATE_SETTINGS = """mutation($machine: ID!) { updateMachineOeeSettings(input: {machineId: $machine,
  idealCycleSeconds: 30}) { settings { idealCycleSeconds runStates } errors { field code message } } }"""
STORE = """mutation($input: SpcChartInput!) { storeSpcEvents(input: $input) {
  events { recorded { rule value } alreadyStored } errors { field code message } } }"""


def _codes(payload: dict) -> list[tuple[str | None, str]]:
    return [(e["field"], e["code"]) for e in payload["errors"]]


async def test_the_payload_mutations_answer_the_object_or_typed_user_errors(stack, factory):
    """updateSiteCalendar, updateMachineOeeSettings and storeSpcEvents answer what they stored with no
    errors, and bad input as user errors naming the field and a stable code, never as GraphQL errors."""
    tenant, _, site, client = factory
    day = [{"name": "all day", "startMinute": 0, "durationMinutes": 1440}]
    stored = (await client.query(UPDATE_CALENDAR, site=site, shifts=day))["data"]["updateSiteCalendar"]
    assert stored == {"calendar": {"timeZone": "UTC", "shifts": [{"name": "all day"}]}, "errors": []}
    overlapping = [*day, {"name": "night", "startMinute": 1320, "durationMinutes": 480}]
    body = await client.query(UPDATE_CALENDAR, site=site, shifts=overlapping)
    assert "errors" not in body and body["data"]["updateSiteCalendar"]["calendar"] is None
    assert _codes(body["data"]["updateSiteCalendar"]) == [("calendar.shifts", "SHIFTS_OVERLAP")]
    negative = [{"name": "early", "startMinute": -1, "durationMinutes": 60}]
    body = await client.query(UPDATE_CALENDAR, site=site, shifts=negative)
    assert _codes(body["data"]["updateSiteCalendar"]) == [("startMinute", "INVALID_ARGUMENT")]

    settings = (await client.query(UPDATE_SETTINGS, machine=tenant.machine_id))["data"]
    assert settings["updateMachineOeeSettings"] == {
        "settings": {"idealCycleSeconds": 30.0, "runStates": [1]},
        "errors": [],
    }
    a_site = (await client.query(UPDATE_SETTINGS, machine=site))["data"]["updateMachineOeeSettings"]
    assert a_site["settings"] is None
    assert _codes(a_site) == [("settings.machineId", "NOT_A_MACHINE")] and "not a machine" in str(a_site)

    gauge = tenant.series_ids[0]
    start = int((dt.datetime.now(dt.UTC) - dt.timedelta(hours=5)).timestamp()) * 10**9
    await send_batches(
        stack.targets["ingest"],
        tenant.credential,
        [batch(gauge, [start + i * MIN for i in range(6)], [5.0, 7, 6, 8, 7, 12], batch_no=90)],
    )
    chart = {
        "seriesId": gauge,
        "from": format_timestamp(start),
        "to": format_timestamp(start + 6 * MIN),
        "baselineFrom": format_timestamp(start),
        "baselineTo": format_timestamp(start + 5 * MIN),
        "chart": "I_MR",
    }
    recorded = (await client.query(STORE, input=chart))["data"]["storeSpcEvents"]
    assert recorded == {
        "events": {"recorded": [{"rule": 1, "value": 12.0}], "alreadyStored": 0},
        "errors": [],
    }
    bad = (await client.query(STORE, input={**chart, "subgroupSize": 3}))["data"]["storeSpcEvents"]
    assert bad["events"] is None and _codes(bad) == [("subgroupSize", "BAD_SUBGROUP_SIZE")]
