"""Anomaly detection on the platform, end to end on the real stack: a machine's series ingested, its
model fitted by analytics on a chosen reference period, the worker scoring the data pass by pass (the
same anomaly as scoring all at once, the series behind it named), the anomaly raising and clearing an
ANOMALY alarm rule, passes repeated changing nothing; and the errors of fitting."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from datetime import UTC, datetime

import grpc
import numpy as np
import pytest

from services.analytics.anomaly import Scorer, anomalies, fit
from services.runtime.principal import Role
from services.worker.alarm_reporter import AlarmReporter
from services.worker.anomaly_watch import LAG_NS, AnomalyWatch
from services.worker.server import WorkerServer
from sf.seeding import create_tenant, send_batches
from sfcloud.v1 import alarms_pb2, alarms_pb2_grpc, anomaly_pb2, anomaly_pb2_grpc, common_pb2, ingest_pb2
from tests.analytics.test_anomaly_detector import machine
from tests.e2e.provision import GraphQLClient
from tests.e2e.test_live import next_message, open_socket
from tests.isolation.test_rls import _as

S = 10**9
STEP = 10 * S
REFERENCE_ROWS = 2_160  # six hours of 10 s steps
ROWS = 3_000
FAULT = slice(2_400, 2_520)  # twenty minutes of a pressure fault


@pytest.fixture(scope="module")
async def plant(stack, signer):
    """A machine of three gauges with 3,000 steps of data ending an hour ago, a fault in the second."""
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Anomalies", series_count=3)
    start = (time.time_ns() - 3600 * S - ROWS * STEP) // STEP * STEP
    values = machine(ROWS, 7)[:, :3]
    values[FAULT, 1] += 6.0
    times = start + np.arange(ROWS, dtype=np.int64) * STEP + 3 * S  # inside each step
    requests = [
        ingest_pb2.IngestRequest(
            batch_no=n + 1,
            series=[
                ingest_pb2.SeriesPoints(
                    series_id=sid,
                    timestamps_ns=times[lo : lo + 1000].tolist(),
                    values=values[lo : lo + 1000, j].tolist(),
                )
                for j, sid in enumerate(tenant.series_ids)
            ],
        )
        for n, lo in enumerate(range(0, ROWS, 1000))
    ]
    await send_batches(stack.targets["ingest"], tenant.credential, requests)
    return tenant, start, values


@pytest.fixture(scope="module")
async def watch(stack):
    worker = WorkerServer(dataclasses.replace(stack.worker_settings("anomaly-tests"), anomaly_interval_s=0))
    await worker.start()
    reporter = AlarmReporter(worker.redis, worker.alarm_client, worker.notifier)
    yield AnomalyWatch(worker.redis, worker.cells, worker.directory, reporter, 1, "anomaly-tests")
    await worker.stop()


def rfc3339(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).isoformat().replace("+00:00", "Z")


def reference(start: int) -> common_pb2.TimeRange:
    return common_pb2.TimeRange(start_ns=start, end_ns=start + REFERENCE_ROWS * STEP)


async def test_the_worker_finds_the_fault_names_its_series_and_raises_and_clears_the_alarm(
    stack, signer, plant, watch
):
    tenant, start, values = plant
    owner = _as(signer, tenant.id)
    async with (
        grpc.aio.insecure_channel(stack.targets["analytics"]) as analytics,
        grpc.aio.insecure_channel(stack.targets["tenancy"]) as tenancy,
    ):
        anomaly_api, alarm_api = (
            anomaly_pb2_grpc.AnomalyServiceStub(analytics),
            alarms_pb2_grpc.AlarmServiceStub(tenancy),
        )
        rule = alarms_pb2.AlarmRuleSpec(
            name="pump anomaly", severity=alarms_pb2.ALARM_SEVERITY_WARNING, enabled=True
        )
        await alarm_api.CreateAlarmRule(
            alarms_pb2.CreateAlarmRuleRequest(
                kind=alarms_pb2.ALARM_RULE_KIND_ANOMALY, series_id=tenant.series_ids[1], spec=rule
            ),
            metadata=owner,
        )
        trained = (
            await anomaly_api.TrainModel(
                anomaly_pb2.TrainModelRequest(machine_id=tenant.machine_id, reference=reference(start)),
                metadata=owner,
            )
        ).model
        assert list(trained.series_ids) == tenant.series_ids and trained.reference_rows == REFERENCE_ROWS
        assert trained.scored_until_ns == start + REFERENCE_ROWS * STEP and trained.step_ns == STEP

        async def score_to(row: int) -> list[anomaly_pb2.Anomaly]:
            assert await watch.score_tenant(tenant.id, "default", start + row * STEP + LAG_NS)
            whole = common_pb2.TimeRange(start_ns=start, end_ns=start + ROWS * STEP)
            request = anomaly_pb2.ListAnomaliesRequest(machine_id=tenant.machine_id, range=whole)
            return list((await anomaly_api.ListAnomalies(request, metadata=owner)).anomalies)

        async def alarms() -> list[alarms_pb2.Alarm]:
            return list((await alarm_api.ListAlarms(alarms_pb2.ListAlarmsRequest(), metadata=owner)).alarms)

        assert await score_to(FAULT.start) == [] and await alarms() == []
        ongoing = await score_to(FAULT.start + 30)
        assert (
            len(ongoing) == 1 and ongoing[0].end_ns == 0 and ongoing[0].series_ids[0] == tenant.series_ids[1]
        )
        (raised,) = await alarms()
        assert raised.kind == alarms_pb2.ALARM_RULE_KIND_ANOMALY and raised.raised_ns == ongoing[0].start_ns
        assert raised.state == alarms_pb2.ALARM_STATE_RAISED and "anomaly on machine" in raised.detail

        for row in (FAULT.stop + 100, ROWS, ROWS):  # the last pass again: nothing new to score
            found = await score_to(row)
        assert len(found) == 1 and found[0].id == ongoing[0].id and found[0].end_ns > found[0].start_ns
        (cleared,) = await alarms()
        assert cleared.state == alarms_pb2.ALARM_STATE_CLEARED and cleared.cleared_ns == found[0].end_ns

    # the same as one scorer over every row at once
    model = fit(values[:REFERENCE_ROWS], ("a", "b", "c"))
    expected = anomalies(Scorer(model).update(values[REFERENCE_ROWS:]), ("a", "b", "c"))
    assert [(found[0].start_ns, found[0].end_ns)] == [
        (start + (REFERENCE_ROWS + e.start) * STEP, start + (REFERENCE_ROWS + e.stop) * STEP)
        for e in expected
    ]
    assert found[0].peak_score == pytest.approx(expected[0].peak_score, rel=1e-9)


async def test_fitting_refuses_what_it_cannot_learn_from(stack, signer, plant):
    tenant, start, _ = plant
    other = await create_tenant(stack.targets["tenancy"], signer, "Other plant", series_count=2)
    async with grpc.aio.insecure_channel(stack.targets["analytics"]) as channel:
        api = anomaly_pb2_grpc.AnomalyServiceStub(channel)

        async def refused(request, metadata, code: grpc.StatusCode, words: str) -> None:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await api.TrainModel(request, metadata=metadata)
            assert caught.value.code() == code and words in caught.value.details(), caught.value.details()

        mine = _as(signer, tenant.id)
        short = common_pb2.TimeRange(start_ns=start, end_ns=start + 100 * STEP)
        await refused(
            anomaly_pb2.TrainModelRequest(machine_id=tenant.machine_id, reference=short),
            mine,
            grpc.StatusCode.INVALID_ARGUMENT,
            "needs at least 200",
        )
        await refused(  # another tenant's machine is as unknown as none
            anomaly_pb2.TrainModelRequest(machine_id=tenant.machine_id, reference=reference(start)),
            _as(signer, other.id),
            grpc.StatusCode.NOT_FOUND,
            "not found",
        )
        await refused(  # a machine that has sent nothing
            anomaly_pb2.TrainModelRequest(machine_id=other.machine_id),
            _as(signer, other.id),
            grpc.StatusCode.INVALID_ARGUMENT,
            "sent no data",
        )
        await refused(
            anomaly_pb2.TrainModelRequest(machine_id=tenant.machine_id, reference=reference(start)),
            _as(signer, tenant.id, Role.VIEWER),
            grpc.StatusCode.PERMISSION_DENIED,
            "",
        )
        await refused(
            anomaly_pb2.TrainModelRequest(machine_id=tenant.machine_id, step_ns=S // 2),
            mine,
            grpc.StatusCode.INVALID_ARGUMENT,
            "between 1 s and 1 h",
        )
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await api.GetModel(
                anomaly_pb2.GetModelRequest(machine_id=other.machine_id), metadata=_as(signer, other.id)
            )
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_without_a_range_the_model_learns_the_first_days_of_data(stack, signer, plant):
    tenant, start, _ = plant
    async with grpc.aio.insecure_channel(stack.targets["analytics"]) as channel:
        api = anomaly_pb2_grpc.AnomalyServiceStub(channel)
        request = anomaly_pb2.TrainModelRequest(machine_id=tenant.machine_id, step_ns=60 * S)
        trained = (await api.TrainModel(request, metadata=_as(signer, tenant.id))).model
        assert trained.reference.start_ns == start - start % (60 * S)  # on the model's grid
        assert trained.reference.end_ns > start + (ROWS - 12) * STEP
        assert abs(trained.reference_rows - ROWS // 6) <= 1
        got = (
            await api.GetModel(
                anomaly_pb2.GetModelRequest(machine_id=tenant.machine_id),
                metadata=_as(signer, tenant.id, Role.VIEWER),
            )
        ).model
        assert got == trained


async def test_graphql_fits_a_model_and_lists_the_anomalies(stack, plant):
    tenant, start, _ = plant
    client = await GraphQLClient.login(stack.gateway_url, tenant.owner_email, tenant.owner_password)
    try:
        trained = await client.query(
            "mutation($m: ID!, $from: Timestamp, $to: Timestamp) { trainAnomalyModel(machineId: $m, from: $from,"
            " to: $to, stepSeconds: 10) { seriesIds referenceRows stepSeconds threshold excluded { seriesId } } }",
            m=tenant.machine_id,
            **{"from": rfc3339(start), "to": rfc3339(start + REFERENCE_ROWS * STEP)},
        )
        assert "errors" not in trained, trained
        model = trained["data"]["trainAnomalyModel"]
        assert model["seriesIds"] == tenant.series_ids and model["referenceRows"] == REFERENCE_ROWS
        assert model["stepSeconds"] == 10 and model["excluded"] == [] and model["threshold"] > 0
        listed = await client.query(
            "query($m: ID!, $from: Timestamp!, $to: Timestamp!) { anomalyModel(machineId: $m) { referenceRows }"
            " anomalies(machineId: $m, from: $from, to: $to) { start end seriesIds peakScore } }",
            m=tenant.machine_id,
            **{"from": rfc3339(start), "to": rfc3339(start + ROWS * STEP)},
        )
        assert "errors" not in listed, listed
        assert listed["data"]["anomalyModel"] == {"referenceRows": REFERENCE_ROWS}
        assert isinstance(listed["data"]["anomalies"], list)
        unreadable = await client.query(  # a variable its scalar refuses is the caller's mistake, said
            "mutation($m: ID!, $from: Timestamp) { trainAnomalyModel(machineId: $m, from: $from) { threshold } }",
            m=tenant.machine_id,
            **{"from": str(start)},
        )
        assert unreadable["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", unreadable
        assert "RFC 3339" in unreadable["errors"][0]["message"]
        refused = await client.query(
            "mutation($m: ID!) { trainAnomalyModel(machineId: $m, stepSeconds: 0) { threshold } }",
            m="00000000-0000-0000-0000-000000000000",
        )
        assert refused["errors"][0]["extensions"]["code"] == "NOT_FOUND", refused
    finally:
        await client.close()


FIT = """mutation($m: ID!, $from: Timestamp, $to: Timestamp) { fitAnomalyModel(machineId: $m, from: $from,
  to: $to, stepSeconds: 10) { model { referenceRows stepSeconds } errors { field code message } } }"""


async def test_fit_anomaly_model_answers_the_model_or_typed_user_errors(stack, plant):
    """fitAnomalyModel answers the model with no errors, and a reference too short to fit on (from and to
    together: the whole input) or a step out of range as user errors naming the argument and the stable
    reason, never as GraphQL errors."""
    tenant, start, _ = plant
    client = await GraphQLClient.login(stack.gateway_url, tenant.owner_email, tenant.owner_password)
    try:
        reference = {"from": rfc3339(start), "to": rfc3339(start + REFERENCE_ROWS * STEP)}
        fitted = await client.query(FIT, m=tenant.machine_id, **reference)
        assert fitted["data"]["fitAnomalyModel"] == {
            "model": {"referenceRows": REFERENCE_ROWS, "stepSeconds": 10.0},
            "errors": [],
        }, fitted
        short = {"from": rfc3339(start), "to": rfc3339(start + 100 * STEP)}
        refused = await client.query(FIT, m=tenant.machine_id, **short)
        assert "errors" not in refused, refused
        payload = refused["data"]["fitAnomalyModel"]
        assert payload["model"] is None
        assert [(e["field"], e["code"]) for e in payload["errors"]] == [(None, "TRAINING_TOO_SHORT")]
        assert "needs at least 200" in payload["errors"][0]["message"]
        coarse = await client.query(FIT.replace("stepSeconds: 10", "stepSeconds: 7200"), m=tenant.machine_id)
        errors = coarse["data"]["fitAnomalyModel"]["errors"]
        assert [(e["field"], e["code"]) for e in errors] == [("stepSeconds", "INVALID_ARGUMENT")], coarse
    finally:
        await client.close()


async def test_the_anomalies_subscription_hears_an_anomaly_start_and_end(stack, signer, plant, watch):
    tenant, start, _ = plant
    client = await GraphQLClient.login(stack.gateway_url, tenant.owner_email, tenant.owner_password)
    ws = await open_socket(stack, client)
    try:
        async with grpc.aio.insecure_channel(stack.targets["analytics"]) as analytics:
            request = anomaly_pb2.TrainModelRequest(machine_id=tenant.machine_id, reference=reference(start))
            await anomaly_pb2_grpc.AnomalyServiceStub(analytics).TrainModel(
                request, metadata=_as(signer, tenant.id)
            )
        await ws.send(json.dumps({"type": "connection_init"}))
        await next_message(ws, "connection_ack")
        query = "subscription($m: ID) { anomalies(machineId: $m) { event anomaly { start end seriesIds } } }"
        payload = {"query": query, "variables": {"m": tenant.machine_id}}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        await asyncio.sleep(0.2)  # the subscription is listening before the worker publishes
        assert await watch.score_tenant(tenant.id, "default", start + (FAULT.start + 30) * STEP + LAG_NS)
        started = (await next_message(ws, "next"))["payload"]["data"]["anomalies"]
        assert started["event"] == "started" and started["anomaly"]["end"] is None
        assert started["anomaly"]["seriesIds"][0] == tenant.series_ids[1]
        assert await watch.score_tenant(tenant.id, "default", start + ROWS * STEP + LAG_NS)
        ended = (await next_message(ws, "next"))["payload"]["data"]["anomalies"]
        assert ended["event"] == "ended" and ended["anomaly"]["start"] == started["anomaly"]["start"]
        assert ended["anomaly"]["end"] is not None
    finally:
        await ws.close()
        await client.close()
