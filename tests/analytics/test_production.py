"""OEE and SPC through gRPC against the real stack, on hand-worked examples (issue 8's Done-when): a
small shift, a night shift across midnight, the daylight-saving days in Europe/Berlin (23 and 25 hours),
a counter reset, SPC limits, events and Cp/Cpk, bad input, and another tenant's ids (NOT_FOUND).

Points are written as blocks straight into telemetry.blocks (as the analytics tests do) and read back
by the service through the query engine; sites, machines and series are made through tenancy."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from zoneinfo import ZoneInfo

import grpc
import numpy as np
import psycopg
import pytest

from sfcloud.v1 import (
    alarms_pb2,
    alarms_pb2_grpc,
    common_pb2,
    production_pb2_grpc,
    tenancy_pb2,
    tenancy_pb2_grpc,
)
from sfcloud.v1 import production_pb2 as pb
from tests.analytics.helpers import assert_refused, split_blocks, write_blocks
from tests.e2e.provision import create_tenant
from tests.e2e.test_bad_input import reason_of
from tests.isolation.test_rls import _as

BERLIN = ZoneInfo("Europe/Berlin")
MIN = 60 * 10**9
THREE_SHIFTS = [
    pb.Shift(name="early", start_minute=6 * 60, duration_minutes=480),
    pb.Shift(name="late", start_minute=14 * 60, duration_minutes=480),
    pb.Shift(name="night", start_minute=22 * 60, duration_minutes=480),
]


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, zone=dt.UTC) -> int:
    return int(dt.datetime(year, month, day, hour, minute, tzinfo=zone).timestamp()) * 10**9


class Plant:
    """One tenant's site → line → machines, made through tenancy as its owner."""

    def __init__(self, stack, signer, admin_conn, tenant) -> None:
        self.tenant = tenant
        self.admin_conn = admin_conn
        self.metadata = _as(signer, tenant.id)
        self.channels = [grpc.aio.insecure_channel(stack.targets[t]) for t in ("tenancy", "analytics")]
        self.tenancy = tenancy_pb2_grpc.TenancyServiceStub(self.channels[0])
        self.production = production_pb2_grpc.ProductionServiceStub(self.channels[1])

    async def asset(self, parent: str, kind, name: str) -> str:
        request = tenancy_pb2.CreateAssetRequest(parent_id=parent, kind=kind, name=name)
        return (await self.tenancy.CreateAsset(request, metadata=self.metadata, timeout=10)).asset.id

    async def series(self, machine: str, name: str, kind: str) -> str:
        request = tenancy_pb2.CreateSeriesRequest(machine_id=machine, name=name, unit="", kind=kind)
        return (await self.tenancy.CreateSeries(request, metadata=self.metadata, timeout=10)).series.id

    async def machine(self, line: str, ideal_cycle_s: float, max_gap_s: int) -> dict[str, str]:
        """A machine with a state, a part and a scrap counter (the templates' names), and its settings."""
        machine = await self.asset(line, tenancy_pb2.ASSET_KIND_MACHINE, f"M-{secrets.token_hex(3)}")
        ids = {"machine": machine}
        for name, kind in (("state", "state"), ("parts_total", "counter"), ("parts_scrap", "counter")):
            ids[name] = await self.series(machine, name, kind)
        settings = pb.MachineOeeSettings(machine_id=machine, ideal_cycle_s=ideal_cycle_s, max_gap_s=max_gap_s)
        stored = await self.call("SetMachineOeeSettings", pb.SetMachineOeeSettingsRequest(settings=settings))
        assert (stored.settings.state_series_id, stored.settings.total_series_id) == (
            ids["state"],
            ids["parts_total"],
        )
        assert stored.settings.scrap_series_id == ids["parts_scrap"] and list(stored.settings.run_states) == [
            1
        ]
        return ids

    def write(self, series: str, points: list[tuple[int, float]]) -> None:
        ts = np.array([t for t, _ in points], dtype=np.int64)
        values = np.array([v for _, v in points], dtype=np.float64)
        write_blocks(self.admin_conn, self.tenant.id, uuid.UUID(series), ts, values, split_blocks(ts, set()))

    async def call(self, method: str, request, metadata=None):
        return await getattr(self.production, method)(request, metadata=metadata or self.metadata, timeout=30)

    async def oee(self, asset: str, lo: int, hi: int, period, metadata=None) -> pb.GetOeeResponse:
        request = pb.GetOeeRequest(
            asset_id=asset, range=common_pb2.TimeRange(start_ns=lo, end_ns=hi), period=period
        )
        return await self.call("GetOee", request, metadata)


@pytest.fixture(scope="module")
async def plant(stack, signer, admin_url):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "production")
    admin_conn = psycopg.connect(admin_url, autocommit=True)  # a superuser's: blocks are written past RLS
    made = Plant(stack, signer, admin_conn, tenant)
    site = await made.asset("", tenancy_pb2.ASSET_KIND_SITE, "Werk Berlin")
    made.site = site
    made.line = await made.asset(site, tenancy_pb2.ASSET_KIND_LINE, "Line A")
    yield made
    for channel in made.channels:
        await channel.close()
    admin_conn.close()


async def hand_worked_site(plant: Plant, name: str) -> tuple[str, str, dict[str, str], int]:
    """A site in UTC with one shift (06:00-14:00) and one machine holding the hand-worked shift of
    2026-05-04 (``test_a_hand_worked_shift`` says what it holds): (site, line, machine ids, shift start)."""
    site = await plant.asset("", tenancy_pb2.ASSET_KIND_SITE, name)
    line = await plant.asset(site, tenancy_pb2.ASSET_KIND_LINE, "Line U")
    calendar = pb.SiteCalendar(
        site_id=site, time_zone="UTC", shifts=[pb.Shift(name="early", start_minute=360, duration_minutes=480)]
    )
    await plant.call("SetSiteCalendar", pb.SetSiteCalendarRequest(calendar=calendar))
    m = await plant.machine(line, ideal_cycle_s=45, max_gap_s=3600)
    start = at(2026, 5, 4, 6)
    run, down, idle = 1.0, 2.0, 0.0
    plant.write(
        m["state"],
        [
            (start + k * MIN, s)
            for k, s in (
                (0, run),
                (60, run),
                (120, down),
                (150, run),
                (210, run),
                (270, run),
                (330, run),
                (360, idle),
                (420, run),
            )
        ],
    )
    plant.write(
        m["parts_total"],
        [
            (start - MIN, 5000),
            (start + 120 * MIN, 5160),
            (start + 360 * MIN, 5400),
            (start + 479 * MIN, 5468),
            (start + 510 * MIN, 5500),
        ],
    )
    plant.write(m["parts_scrap"], [(start - MIN, 20), (start + 360 * MIN, 26), (start + 479 * MIN, 29)])

    return site, line, m, start


async def test_a_hand_worked_shift(plant):
    """One 8-hour shift, 06:00-14:00 UTC (site in UTC, one shift), ideal cycle 45 s, states held 60 min.

    States (minutes after 06:00): 0 RUN, 60 RUN, 120 DOWN, 150 RUN, 210 RUN, 270 RUN, 330 RUN, 360 IDLE,
    420 RUN. Each holds until the next sample (at most 60 min): RUN 0-120, DOWN 120-150, RUN 150-360,
    IDLE 360-420, RUN 420-480: run 120 + 210 + 60 = 390 min = 23,400 s of 28,800 s planned.
    Parts counter: 5,000 at 05:59 (the base), 5,160 at 08:00, 5,400 at 12:00, 5,468 at 13:59 (5,500 at
    14:30 is the next shift's): 160 + 240 + 68 = 468. Scrap: 20, then 26 at 12:00 and 29 at 13:59: 9.

        availability = 23,400 / 28,800               = 0.8125
        performance  = 45 x 468 / 23,400 = 21,060 / 23,400 = 0.9
        quality      = (468 - 9) / 468 = 459 / 468   = 0.980769...
        OEE          = 0.8125 x 0.9 x 0.980769       = 0.717188 (= 45 x 459 / 28,800 = 20,655 / 28,800)
        downtime: IDLE 3,600 s, DOWN 1,800 s; speed loss 23,400 - 21,060 = 2,340 s; scrap loss 45 x 9 = 405 s
    """
    site, line, m, start = await hand_worked_site(plant, "Plant UTC")
    for asset in (m["machine"], line, site):  # one machine: the line and the site say the same
        answer = await plant.oee(asset, start, start + 1, pb.OEE_PERIOD_SHIFT)
        assert [(r.label, r.date, r.start_ns, r.end_ns) for r in answer.results] == [
            ("early", "2026-05-04", start, start + 480 * MIN)
        ]
        f = answer.results[0].figures
        assert (f.planned_s, f.run_s, f.total_count, f.scrap_count, f.good_count) == (
            28_800,
            23_400,
            468,
            9,
            459,
        )
        assert (f.availability, f.performance) == pytest.approx((0.8125, 0.9))
        assert (f.quality, f.oee) == pytest.approx((459 / 468, 20_655 / 28_800))
        assert [(d.label, d.seconds) for d in f.downtime] == [("IDLE", 3600), ("DOWN", 1800)]
        assert (f.speed_loss_s, f.scrap_loss_s) == pytest.approx((2_340, 405))
        assert list(answer.machine_ids) == [m["machine"]]


async def test_night_shift_across_midnight_with_a_counter_reset(plant):
    """Berlin, three 8-hour shifts; the night shift of 5 May 2026 runs 22:00 → 06:00 on 6 May (CEST),
    28,800 s. The machine runs all night (a RUN sample every 10 min, cap 15 min) except DOWN from 02:00 to
    03:00. The counter reads 100 at 21:50 (the base), 150 at 01:00, 20 at 02:30 (a decrease: reset, so
    20 counted from zero), 50 at 05:50: 50 + 20 + 30 = 100 parts, no scrap.
        availability = 25,200 / 28,800 = 0.875; performance = 60 x 100 / 25,200 = 0.238095; quality 1
    The shift belongs to 5 May; the day of 5 May (whole days) adds the early and late shifts, which have
    no data: unknown time, 86,400 s planned, 25,200 run."""
    m = await plant.machine(plant.line, ideal_cycle_s=60, max_gap_s=900)
    calendar = pb.SiteCalendar(site_id=plant.site, time_zone="Europe/Berlin", shifts=THREE_SHIFTS)
    stored = await plant.call("SetSiteCalendar", pb.SetSiteCalendarRequest(calendar=calendar))
    assert [s.name for s in stored.calendar.shifts] == ["early", "late", "night"]
    night = at(2026, 5, 5, 22, zone=BERLIN)
    states = [(night + k * 10 * MIN, 2.0 if 240 <= k * 10 < 300 else 1.0) for k in range(48)]
    plant.write(m["state"], states)
    plant.write(
        m["parts_total"],
        [(night - 10 * MIN, 100), (night + 180 * MIN, 150), (night + 270 * MIN, 20), (night + 470 * MIN, 50)],
    )

    answer = await plant.oee(m["machine"], night + MIN, night + 2 * MIN, pb.OEE_PERIOD_SHIFT)
    assert answer.time_zone == "Europe/Berlin"
    (result,) = answer.results
    assert (result.label, result.date, result.end_ns - result.start_ns) == ("night", "2026-05-05", 480 * MIN)
    f = result.figures
    assert (f.planned_s, f.run_s, f.total_count, f.scrap_count) == (28_800, 25_200, 100, 0)
    assert (f.availability, f.performance, f.quality) == pytest.approx((0.875, 6_000 / 25_200, 1.0))
    assert [(d.label, d.seconds) for d in f.downtime] == [("DOWN", 3600)]

    (day,) = (await plant.oee(m["machine"], night + MIN, night + 2 * MIN, pb.OEE_PERIOD_DAY)).results
    assert (day.label, day.start_ns, day.end_ns) == (
        "2026-05-05",
        at(2026, 5, 5, 6, zone=BERLIN),
        at(2026, 5, 6, 6, zone=BERLIN),
    )
    assert (day.figures.planned_s, day.figures.run_s) == (86_400, 25_200)
    assert {d.label: d.seconds for d in day.figures.downtime} == {"UNKNOWN": 57_600, "DOWN": 3600}


async def test_daylight_saving_days_and_nights_in_berlin(plant):
    """One 24-hour shift from local midnight: 29 March 2026 (clocks 02:00 → 03:00) lasts 23 h = 82,800 s,
    25 October 2026 (03:00 → 02:00) 25 h = 90,000 s. With three 8-hour shifts the night shift starting
    28 March 22:00 lasts 7 h (25,200 s), the one starting 24 October 22:00 9 h (32,400 s). A machine that
    runs throughout (a RUN sample every 10 min) has availability 1 in each."""
    site = await plant.asset("", tenancy_pb2.ASSET_KIND_SITE, "Werk DST")
    line = await plant.asset(site, tenancy_pb2.ASSET_KIND_LINE, "Line D")
    m = await plant.machine(line, ideal_cycle_s=30, max_gap_s=900)
    for day in (dt.date(2026, 3, 28), dt.date(2026, 10, 24)):
        lo, hi = (
            at(day.year, day.month, day.day, 0, zone=BERLIN),
            at(day.year, day.month, day.day + 2, 0, zone=BERLIN),
        )
        plant.write(m["state"], [(t, 1.0) for t in range(lo, hi + 60 * MIN, 10 * MIN)])

    whole_day = [pb.Shift(name="day", start_minute=0, duration_minutes=1440)]
    await plant.call(
        "SetSiteCalendar",
        pb.SetSiteCalendarRequest(
            calendar=pb.SiteCalendar(site_id=site, time_zone="Europe/Berlin", shifts=whole_day)
        ),
    )
    for date, hours in (("2026-03-29", 23), ("2026-10-25", 25)):
        noon = at(int(date[:4]), int(date[5:7]), int(date[8:]), 12, zone=BERLIN)
        (day,) = (await plant.oee(m["machine"], noon, noon + 1, pb.OEE_PERIOD_DAY)).results
        assert (day.label, day.end_ns - day.start_ns) == (date, hours * 3600 * 10**9)
        assert (day.figures.planned_s, day.figures.run_s, day.figures.availability) == (
            hours * 3600,
            hours * 3600,
            1.0,
        )

    await plant.call(
        "SetSiteCalendar",
        pb.SetSiteCalendarRequest(
            calendar=pb.SiteCalendar(site_id=site, time_zone="Europe/Berlin", shifts=THREE_SHIFTS)
        ),
    )
    for date, hours in (((2026, 3, 28), 7), ((2026, 10, 24), 9)):
        late = at(*date, 23, zone=BERLIN)
        (shift,) = (await plant.oee(m["machine"], late, late + 1, pb.OEE_PERIOD_SHIFT)).results
        assert (shift.label, shift.figures.planned_s, shift.figures.availability) == (
            "night",
            hours * 3600,
            1.0,
        )
    trend = await plant.oee(
        m["machine"], at(2026, 3, 28, 12, zone=BERLIN), at(2026, 3, 30, 12, zone=BERLIN), pb.OEE_PERIOD_DAY
    )
    assert [(r.date, r.figures.planned_s) for r in trend.results] == [
        ("2026-03-28", 24 * 3600 - 3600),
        ("2026-03-29", 24 * 3600),
        ("2026-03-30", 24 * 3600),
    ]


async def test_spc_chart_limits_events_and_capability(plant):
    """I-MR of 5, 7, 6, 8, 7 (the baseline, a minute apart) then 12 and 6.5 (charted): centre 6.6,
    sigma 1.5 / 1.128 = 1.329787, limits 2.610638 .. 10.589362 (test_spc_rules.py works them out);
    12 is beyond 3 sigma (rule 1). Cp/Cpk against 2 .. 12: 1.253333 / 1.153067."""
    series = await plant.series(plant.tenant.machine_id, f"bore_{secrets.token_hex(3)}", "gauge")
    t0 = at(2026, 6, 1, 8)
    values = [5.0, 7, 6, 8, 7, 12, 6.5]
    plant.write(series, [(t0 + i * MIN, v) for i, v in enumerate(values)])
    request = pb.SpcChartRequest(
        series_id=series,
        range=common_pb2.TimeRange(start_ns=t0, end_ns=t0 + 7 * MIN),
        baseline=common_pb2.TimeRange(start_ns=t0, end_ns=t0 + 5 * MIN),
        chart=pb.SPC_CHART_KIND_I_MR,
        lower_spec=2,
        upper_spec=12,
        capability=True,
    )
    chart = await plant.call("SpcChart", request)
    limits = chart.value_limits
    assert (limits.center, limits.lower, limits.upper) == pytest.approx((6.6, 2.610638, 10.589362), abs=1e-6)
    assert chart.range_limits.upper == pytest.approx(4.9005) and chart.baseline_points == 5
    assert [(p.value, p.HasField("range")) for p in chart.points][:2] == [(5.0, False), (7.0, True)]
    assert [(v.timestamp_ns, v.rule, v.value) for v in chart.violations] == [
        (t0 + 5 * MIN, pb.WESTERN_ELECTRIC_RULE_1, 12.0)
    ]
    assert (chart.cp, chart.cpk) == pytest.approx((1.253333, 1.153067), abs=1e-6)

    recorded = await plant.call("RecordSpcEvents", pb.RecordSpcEventsRequest(chart=request))
    assert [(e.series_id, e.timestamp_ns, e.rule, e.value) for e in recorded.recorded] == [
        (series, t0 + 5 * MIN, 1, 12.0)
    ]
    again = await plant.call("RecordSpcEvents", pb.RecordSpcEventsRequest(chart=request))
    assert (len(again.recorded), again.already_stored) == (0, 1)
    listed = await plant.call("ListSpcEvents", pb.ListSpcEventsRequest(series_id=series, range=request.range))
    assert [e.id for e in listed.events] == [recorded.recorded[0].id] and not listed.has_more
    assert listed.events[0].value_limits.upper == pytest.approx(10.589362, abs=1e-6)

    xbar = pb.SpcChartRequest(
        series_id=series, range=request.range, chart=pb.SPC_CHART_KIND_XBAR_R, subgroup_size=3
    )
    answer = await plant.call(
        "SpcChart", xbar
    )  # subgroups (5, 7, 6) and (8, 7, 12); the 7th point is left out
    assert [p.value for p in answer.points] == pytest.approx([6.0, 9.0]) and not answer.HasField("cp")
    assert answer.value_limits.center == pytest.approx(7.5) and answer.range_limits.center == pytest.approx(
        3.5
    )


async def test_bad_input_is_refused_with_reasons(plant):
    series = await plant.series(plant.tenant.machine_id, f"gap_{secrets.token_hex(3)}", "gauge")
    t0 = at(2026, 6, 2, 8)
    plant.write(series, [(t0 + i * MIN, 3.0) for i in range(4)])
    span = common_pb2.TimeRange(start_ns=t0, end_ns=t0 + 10 * MIN)

    def spc(**fields):
        return plant.call("SpcChart", pb.SpcChartRequest(series_id=series, range=span, **fields))

    def calendar(**fields):
        defaults = {"site_id": plant.site, "time_zone": "Europe/Berlin", "shifts": THREE_SHIFTS}
        return plant.call(
            "SetSiteCalendar", pb.SetSiteCalendarRequest(calendar=pb.SiteCalendar(**{**defaults, **fields}))
        )

    await assert_refused([
        (spc(chart=pb.SPC_CHART_KIND_I_MR, capability=True), "Cp/Cpk need specification limits", "SPEC_LIMITS_REQUIRED"),
        (spc(chart=pb.SPC_CHART_KIND_XBAR_R, subgroup_size=11), "must be 2..10", "BAD_SUBGROUP_SIZE"),
        (spc(), "chart: must be", None),
        (spc(chart=pb.SPC_CHART_KIND_I_MR, lower_spec=5, upper_spec=4), "lower_spec: must be below", None),
        (spc(chart=pb.SPC_CHART_KIND_I_MR), "its values do not vary", "CONSTANT_BASELINE"),
        (calendar(time_zone="Mars/Olympus"), "unknown time zone", "UNKNOWN_TIME_ZONE"),
        (calendar(shifts=[pb.Shift(name="a", duration_minutes=600), pb.Shift(name="b", start_minute=480, duration_minutes=60)]),
         "overlaps", "SHIFTS_OVERLAP"),
        (calendar(shifts=[]), "must hold 1 to 24 shifts", None),
        (calendar(site_id=plant.line), "not a site", "NOT_A_SITE"),
        (plant.oee(plant.line, 0, 40 * 86_400 * 10**9, pb.OEE_PERIOD_DAY), "at most 31 days", "RANGE_TOO_LONG"),
        (plant.oee(plant.line, 0, 10, pb.OEE_PERIOD_UNSPECIFIED), "period: must be", None),
        (plant.oee("not-a-uuid", 0, 10, pb.OEE_PERIOD_DAY), "asset_id: must be a UUID", None),
    ])  # fmt: skip


async def test_another_tenant_gets_not_found(plant, stack, signer):
    """Tenant B cannot read A's OEE or SPC, nor name A's site, machine or series in its own settings."""
    b = await create_tenant(stack.targets["tenancy"], signer, "production-b")
    as_b = _as(signer, b.id)
    a_series = await plant.series(plant.tenant.machine_id, f"b_{secrets.token_hex(3)}", "gauge")
    span = common_pb2.TimeRange(start_ns=0, end_ns=10**15)
    chart = pb.SpcChartRequest(series_id=a_series, range=span, chart=pb.SPC_CHART_KIND_I_MR)
    a_calendar = pb.SiteCalendar(site_id=plant.site, time_zone="UTC", shifts=THREE_SHIFTS)
    a_machine = pb.MachineOeeSettings(machine_id=plant.tenant.machine_id)
    cases = [
        ("GetOee", pb.GetOeeRequest(asset_id=plant.line, range=span, period=pb.OEE_PERIOD_DAY), "ASSET_NOT_FOUND"),
        ("GetSiteCalendar", pb.GetSiteCalendarRequest(site_id=plant.site), "ASSET_NOT_FOUND"),
        ("SetSiteCalendar", pb.SetSiteCalendarRequest(calendar=a_calendar), "ASSET_NOT_FOUND"),
        ("SetMachineOeeSettings", pb.SetMachineOeeSettingsRequest(settings=a_machine), "ASSET_NOT_FOUND"),
        ("SpcChart", chart, "SERIES_NOT_FOUND"),
        ("RecordSpcEvents", pb.RecordSpcEventsRequest(chart=chart), "SERIES_NOT_FOUND"),
        ("ListSpcEvents", pb.ListSpcEventsRequest(series_id=a_series, range=span), "SERIES_NOT_FOUND"),
    ]  # fmt: skip
    for method, request, reason in cases:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await plant.call(method, request, as_b)
        assert (caught.value.code(), reason_of(caught.value)) == (grpc.StatusCode.NOT_FOUND, reason), method
    # B's own machine cannot take A's series as its counter.
    own = pb.MachineOeeSettings(machine_id=b.machine_id, total_series_id=a_series)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await plant.call("SetMachineOeeSettings", pb.SetMachineOeeSettingsRequest(settings=own), as_b)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    everything = await plant.call("ListSpcEvents", pb.ListSpcEventsRequest(range=span), as_b)
    assert list(everything.events) == []


async def test_recorded_violations_raise_the_series_spc_alarm_rules(plant):
    """The SPC chart's newest violation reaches tenancy's alarm hook: the series' SPC rule raises, once
    however often the same chart is recorded (the hook is idempotent)."""
    series = await plant.series(plant.tenant.machine_id, f"gap_{secrets.token_hex(3)}", "gauge")
    t0 = at(2026, 6, 2, 8)
    plant.write(series, [(t0 + i * MIN, v) for i, v in enumerate([5.0, 7, 6, 8, 7, 12, 6.5])])
    alarms = alarms_pb2_grpc.AlarmServiceStub(plant.channels[0])
    spec = alarms_pb2.AlarmRuleSpec(
        name="gap out of control", severity=alarms_pb2.ALARM_SEVERITY_WARNING, enabled=True
    )
    rule = alarms_pb2.CreateAlarmRuleRequest(
        kind=alarms_pb2.ALARM_RULE_KIND_SPC_VIOLATION, series_id=series, spec=spec
    )
    await alarms.CreateAlarmRule(rule, metadata=plant.metadata, timeout=10)
    request = pb.SpcChartRequest(
        series_id=series,
        range=common_pb2.TimeRange(start_ns=t0, end_ns=t0 + 7 * MIN),
        baseline=common_pb2.TimeRange(start_ns=t0, end_ns=t0 + 5 * MIN),
        chart=pb.SPC_CHART_KIND_I_MR,
    )
    for _ in range(2):
        await plant.call("RecordSpcEvents", pb.RecordSpcEventsRequest(chart=request))
    raised = alarms_pb2.ListAlarmsRequest(states=[alarms_pb2.ALARM_STATE_RAISED])
    found = [
        a
        for a in (await alarms.ListAlarms(raised, metadata=plant.metadata, timeout=10)).alarms
        if a.series_id == series
    ]
    assert [(a.rule_name, a.detail) for a in found] == [
        ("gap out of control", "Western Electric rule 1: 12 against centre 6.6, limits 2.61064 to 10.5894")
    ]
