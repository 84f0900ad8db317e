"""The smart-factory level (docs/ANALYTICS.md, "Smart-factory level"): the criteria table judged on
hand-made facts, then hand-made tenants on the real stack climbing from level 1 to 4 as they do more
(machines reporting through ingest, API calls metered through tenancy, a shift calendar, an alarm rule,
SPC events), with the numbers in the evidence; another tenant's level is its own; the history."""

from __future__ import annotations

import datetime as dt
import time

import grpc
import pytest

from services.analytics.level.criteria import CRITERIA, Facts, assess
from services.runtime.principal import Role
from services.runtime.tokens import METADATA_KEY, service_principal
from sf.seeding import create_tenant, send_batches
from sfcloud.v1 import (
    alarms_pb2_grpc,
    common_pb2,
    level_pb2,
    level_pb2_grpc,
    production_pb2,
    production_pb2_grpc,
    tenancy_pb2,
    tenancy_pb2_grpc,
)
from tests.alarms.helpers import above, threshold_rule
from tests.e2e.provision import GraphQLClient
from tests.e2e.test_bad_input import batch
from tests.isolation.test_rls import _as

DAY_NS = 86_400 * 10**9


def facts(**changes) -> Facts:
    """A tenant doing everything sfcloud can see: 5 machines, all reporting; changes take parts away."""
    base = dict(
        machines=5,
        reporting=5,
        api_calls=120,
        site_calendars=1,
        oee_machines=2,
        alarm_rules=3,
        all_alarm_rules=4,
        spc_events=2,
        anomaly_models=1,
    )
    return Facts(**(base | changes))


def evidence(assessment, name: str) -> tuple[bool, str]:
    found = next(f for f in assessment.findings if f.name == name)
    return found.met, found.evidence


# -- the criteria table, on hand-made facts ----------------------------------------------------------


def test_every_level_has_criteria_and_names_are_unique():
    assert sorted({c.level for c in CRITERIA}) == [1, 2, 3, 4, 5]
    assert len({c.name for c in CRITERIA}) == len(CRITERIA)


def test_everything_in_use_is_level_4_and_level_5_is_never_reached():
    result = assess(facts())
    assert result.level == 4
    assert evidence(result, "closed_loop_actions") == (
        False,
        "no closed-loop actions: the platform cannot send actions to machines yet",
    )
    assert result.next_steps == (
        "Level 5 (autonomous, closed-loop actions) cannot be reached on sfcloud yet: the platform does not"
        " act on machines.",
    )


def test_no_machines_is_level_0():
    result = assess(facts(machines=0, reporting=0))
    assert result.level == 0
    assert evidence(result, "machines_registered") == (False, "0 machines in the asset tree")
    assert result.next_steps == ("Register your machines in the asset tree.",)


def test_reporting_thresholds_at_half_and_at_80_percent():
    # 2 of 5 = 40%: level 1; 3 of 5 = 60%: level 2 (not 80%); 4 of 5 = 80%: level 3 and on.
    assert assess(facts(reporting=2)).level == 1
    assert assess(facts(reporting=3)).level == 2
    assert assess(facts(reporting=4)).level == 4
    assert evidence(assess(facts(reporting=2)), "half_of_machines_reporting") == (
        False,
        "2 of 5 machines reported in the last 24 h (40%)",
    )
    # exactly half: 2 of 4
    assert assess(facts(machines=4, reporting=2)).level == 2
    assert assess(facts(reporting=3)).next_steps == (
        "Connect more machines: at least 80% must report within 24 h (3 of 5 do).",
    )


def test_a_level_needs_every_lower_level():
    # everything of levels 3 and 4 in place, but only 1 of 5 machines reporting: level 1
    assert assess(facts(reporting=1)).level == 1
    # level 4's conditions without OEE configured: level 2, and the next steps are level 3's gap only
    result = assess(facts(site_calendars=0, oee_machines=0))
    assert result.level == 2
    assert result.next_steps == ("Configure OEE: a shift calendar for a site or OEE settings for a machine.",)


def test_level_4_needs_an_enabled_rule_and_an_analysis_in_use():
    assert assess(facts(spc_events=0)).level == 4  # an anomaly model is analysis enough
    result = assess(facts(alarm_rules=0, spc_events=0, anomaly_models=0))
    assert result.level == 3
    assert evidence(result, "alarm_rules_active") == (False, "0 of 4 alarm rules enabled")
    assert len(result.next_steps) == 2
    assert evidence(result, "analyses_in_use") == (
        False,
        "0 SPC violation events recorded in the last 30 days, 0 machines with an anomaly model",
    )


# -- hand-made tenants on the real stack -------------------------------------------------------------


class Level:
    """LevelService of the analytics server, callable as a tenant's users; the other APIs a tenant uses."""

    def __init__(self, stack, signer) -> None:
        self.signer = signer
        self.stack = stack
        self.channels = [grpc.aio.insecure_channel(stack.targets[t]) for t in ("analytics", "tenancy")]
        self.level = level_pb2_grpc.LevelServiceStub(self.channels[0])
        self.production = production_pb2_grpc.ProductionServiceStub(self.channels[0])
        self.tenancy = tenancy_pb2_grpc.TenancyServiceStub(self.channels[1])
        self.alarms = alarms_pb2_grpc.AlarmServiceStub(self.channels[1])

    def meta(self, tenant, role: Role = Role.VIEWER) -> tuple:
        return _as(self.signer, tenant.id, role)

    async def assess(self, tenant, role: Role = Role.VIEWER) -> level_pb2.LevelAssessment:
        response = await self.level.Assess(
            level_pb2.AssessRequest(), metadata=self.meta(tenant, role), timeout=30
        )
        return response.assessment

    async def history(self, tenant, start_ns: int, end_ns: int) -> list[level_pb2.LevelAssessment]:
        request = level_pb2.HistoryRequest(range=common_pb2.TimeRange(start_ns=start_ns, end_ns=end_ns))
        return list((await self.level.History(request, metadata=self.meta(tenant), timeout=30)).assessments)

    async def report(self, tenant, series_ids: list[str], values: list[float] | None = None) -> None:
        """Each series sends points through ingest, the newest a second ago."""
        now = time.time_ns()
        values = values or [1.0, 2.0]
        stamps = [now - (len(values) - i) * 10**9 for i in range(len(values))]
        batches = [batch(s, stamps, values, batch_no=n + 1) for n, s in enumerate(series_ids)]
        await send_batches(self.stack.targets["ingest"], tenant.credential, batches)

    async def close(self) -> None:
        for channel in self.channels:
            await channel.close()


@pytest.fixture
async def level(stack, signer):
    made = Level(stack, signer)
    yield made
    await made.close()


def criterion(assessment, name: str) -> tuple[bool, str]:
    found = next(c for c in assessment.criteria if c.name == name)
    return found.met, found.evidence


async def test_a_tenant_climbs_from_level_1_to_4(stack, signer, level):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Level climb", series_count=1, machines=4)
    # series_ids[i] is machine i's only series

    first = await level.assess(tenant)
    assert first.level == 1
    assert criterion(first, "machines_registered") == (True, "4 machines in the asset tree")
    assert criterion(first, "half_of_machines_reporting") == (
        False,
        "0 of 4 machines reported in the last 24 h (0%)",
    )
    assert list(first.next_steps) == [
        "Connect more machines: at least half must report within 24 h (0 of 4 do)."
    ]

    await level.report(tenant, tenant.series_ids[:1])
    assert (await level.assess(tenant)).level == 1  # 1 of 4 is not half

    await level.report(tenant, tenant.series_ids[1:2])
    second = await level.assess(tenant)
    assert second.level == 2
    assert criterion(second, "half_of_machines_reporting") == (
        True,
        "2 of 4 machines reported in the last 24 h (50%)",
    )
    assert criterion(second, "most_machines_reporting")[0] is False
    assert criterion(second, "dashboards_or_api_in_use") == (
        False,
        "0 dashboard and API calls in the last 7 days",
    )
    assert len(second.next_steps) == 3

    # Level 3: every machine reports, the gateway metered API calls, a site has a shift calendar.
    await level.report(tenant, tenant.series_ids[2:])
    owner = level.meta(tenant, Role.OWNER)
    today = dt.datetime.now(dt.UTC).date().isoformat()
    await level.tenancy.RecordApiCalls(
        tenancy_pb2.RecordApiCallsRequest(day=today, calls=17),
        metadata=((METADATA_KEY, signer.sign(service_principal("gateway", tenant.id))),),
        timeout=10,
    )
    assets = (
        await level.tenancy.ListAssets(tenancy_pb2.ListAssetsRequest(), metadata=owner, timeout=10)
    ).assets
    site = next(a.id for a in assets if a.kind == tenancy_pb2.ASSET_KIND_SITE)
    calendar = production_pb2.SiteCalendar(
        site_id=site,
        time_zone="Europe/Berlin",
        shifts=[production_pb2.Shift(name="day", start_minute=360, duration_minutes=480)],
    )
    await level.production.SetSiteCalendar(
        production_pb2.SetSiteCalendarRequest(calendar=calendar), metadata=owner, timeout=10
    )
    third = await level.assess(tenant)
    assert third.level == 3, third
    assert criterion(third, "most_machines_reporting") == (
        True,
        "4 of 4 machines reported in the last 24 h (100%)",
    )
    assert criterion(third, "dashboards_or_api_in_use") == (
        True,
        "17 dashboard and API calls in the last 7 days",
    )
    assert criterion(third, "oee_configured") == (
        True,
        "1 site shift calendars, 0 machines with OEE settings",
    )
    assert criterion(third, "alarm_rules_active") == (False, "0 of 0 alarm rules enabled")

    # Level 4: an enabled alarm rule, and SPC violations recorded from a chart of machine 1's series.
    await level.alarms.CreateAlarmRule(
        threshold_rule(tenant.series_ids[0], above(100)), metadata=owner, timeout=10
    )
    await level.report(tenant, tenant.series_ids[:1], [10.0, 11.0, 10.0, 11.0, 10.0, 11.0, 10.0, 11.0, 60.0])
    now = time.time_ns()
    chart = production_pb2.SpcChartRequest(
        series_id=tenant.series_ids[0],
        range=common_pb2.TimeRange(start_ns=now - 60 * 10**9, end_ns=now + 10**9),
        baseline=common_pb2.TimeRange(start_ns=now - 60 * 10**9, end_ns=now - 1_500_000_000),
        chart=production_pb2.SPC_CHART_KIND_I_MR,
    )
    recorded = await level.production.RecordSpcEvents(
        production_pb2.RecordSpcEventsRequest(chart=chart), metadata=owner, timeout=30
    )
    assert len(recorded.recorded) >= 1
    fourth = await level.assess(tenant)
    assert fourth.level == 4, fourth
    assert criterion(fourth, "alarm_rules_active") == (True, "1 of 1 alarm rules enabled")
    assert criterion(fourth, "analyses_in_use")[1] == (
        f"{len(recorded.recorded)} SPC violation events recorded in the last 30 days, 0 machines with an anomaly model"
    )
    assert criterion(fourth, "closed_loop_actions")[0] is False
    assert list(fourth.next_steps) == [
        "Level 5 (autonomous, closed-loop actions) cannot be reached on sfcloud yet: the platform does not"
        " act on machines."
    ]

    # Another tenant's level is its own: B has one machine and nothing else, whatever A does.
    other = await create_tenant(stack.targets["tenancy"], signer, "Level other", series_count=1, machines=1)
    theirs = await level.assess(other)
    assert theirs.level == 1
    assert criterion(theirs, "machines_registered") == (True, "1 machine in the asset tree")
    assert (
        criterion(theirs, "half_of_machines_reporting")[1] == "0 of 1 machines reported in the last 24 h (0%)"
    )
    assert criterion(theirs, "alarm_rules_active")[1] == "0 of 0 alarm rules enabled"
    assert criterion(theirs, "dashboards_or_api_in_use")[1] == "0 dashboard and API calls in the last 7 days"

    # History: one row per day, the day's last assessment; B's history holds only B's.
    day = await level.history(tenant, now - DAY_NS, time.time_ns() + 10**9)
    assert [(a.level, a.day) for a in day] == [(4, fourth.day)]
    assert [c.evidence for c in day[0].criteria] == [c.evidence for c in fourth.criteria]
    assert [a.level for a in await level.history(other, now - DAY_NS, time.time_ns() + 10**9)] == [1]


async def test_history_over_days_oldest_first_and_in_range(stack, signer, level, admin_conn):
    """Earlier days' rows (as assessments made then would have stored them) come back oldest first,
    only those assessed inside the range; a range over 366 days is refused."""
    tenant = await create_tenant(
        stack.targets["tenancy"], signer, "Level history", series_count=1, machines=2
    )
    today = dt.datetime.now(dt.UTC).replace(microsecond=0)
    for days_ago, made in ((9, 0), (3, 1)):
        at = today - dt.timedelta(days=days_ago)
        admin_conn.execute(
            "INSERT INTO analytics.level_assessments (tenant_id, day, level, criteria, next_steps, assessed_at)"
            " VALUES (%s, %s, %s, '[]', '[\"step\"]', %s)",
            [tenant.id, at.date(), made, at],
        )
    await level.report(tenant, tenant.series_ids[:1])
    now_level = await level.assess(tenant)
    assert now_level.level == 2
    now = time.time_ns()
    found = await level.history(tenant, now - 30 * DAY_NS, now + 10**9)
    assert [(a.level, a.day) for a in found] == [
        (0, (today - dt.timedelta(days=9)).date().isoformat()),
        (1, (today - dt.timedelta(days=3)).date().isoformat()),
        (2, now_level.day),
    ]
    assert list(found[0].next_steps) == ["step"]
    assert [a.level for a in await level.history(tenant, now - 5 * DAY_NS, now - DAY_NS)] == [1]
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await level.history(tenant, now - 400 * DAY_NS, now)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_devices_cannot_assess(stack, signer, level):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Level device", series_count=1)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await level.level.Assess(
            level_pb2.AssessRequest(),
            metadata=(("authorization", f"Device {tenant.credential}"),),
            timeout=10,
        )
    assert refused.value.code() in {grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED}


async def test_graphql_level_and_history(stack, signer):
    tenant = await create_tenant(
        stack.targets["tenancy"], signer, "Level GraphQL", series_count=1, machines=3
    )
    client = await GraphQLClient.login(stack.gateway_url, tenant.owner_email, tenant.owner_password)
    try:
        body = await client.query(
            "{ smartFactoryLevel { level criteria { level name met evidence } nextSteps day } }"
        )
        assert "errors" not in body, body
        found = body["data"]["smartFactoryLevel"]
        assert found["level"] == 1
        assert found["criteria"][0] == {
            "level": 1,
            "name": "machines_registered",
            "met": True,
            "evidence": "3 machines in the asset tree",
        }
        assert found["criteria"][-1]["level"] == 5 and found["criteria"][-1]["met"] is False
        assert found["nextSteps"] == [
            "Connect more machines: at least half must report within 24 h (0 of 3 do)."
        ]
        start = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).isoformat()
        end = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
        history = await client.query(
            "query($from: Timestamp!, $to: Timestamp!) { levelHistory(from: $from, to: $to) { level day } }",
            **{"from": start, "to": end},
        )
        assert history["data"]["levelHistory"] == [{"level": 1, "day": found["day"]}]
    finally:
        await client.close()
