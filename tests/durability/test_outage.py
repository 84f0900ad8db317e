"""Outage test (issue #5, RELIABILITY.md D4): the cloud link is down for ten minutes while the plant
produces 200 points a second; the agent (killed once mid-outage) keeps them all, and when the link
returns it drains all 120,000 through the backfill lane, timestamps intact, at no more than five
times the plant's rate, while another tenant's live latency stays within twice its normal.

The suite replays the ten minutes 40 times faster (the device timestamps still span ten minutes and
end now, as after a real outage); `make test-long` runs them in real time. The agent is a child
process; the ingest service, tenancy and the fault proxy run in the test's event loop, so the
neighbour's latency is measured on the very process that drains the backlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest

from edge.forwarder import ForwardOptions
from sfcloud.v1 import ingest_pb2, ingest_pb2_grpc
from tests.durability.agents import AgentProcess, agent_config
from tests.durability.stored import stored_count, stored_pairs
from tests.e2e.provision import create_tenant, device_metadata
from tests.faults.proxy import FaultProxy
from tests.peers.mqtt_broker import MosquittoBroker, mosquitto

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1_200)]

OUTAGE_S = 600
RATE = 200  # points per second, over all the plant's series
SERIES = 4
TICK_S = 0.1  # one MQTT message per series per tick
BATCH_POINTS = 1_000
POINTS = OUTAGE_S * RATE
PACE = ForwardOptions()  # the agent's default pace: the backlog at up to 5 times the plant's measured rate
ESTIMATE_SLACK = 1.15  # the agent measures the plant's rate from a few seconds of arrivals


class LatencyProbe:
    """A neighbour device on its own stream: one small batch every 10 ms, each ack's latency kept."""

    def __init__(self, target: str, credential: str, series_id: str) -> None:
        self._target, self._credential, self._series = target, credential, series_id
        self.samples: list[tuple[float, float]] = []  # (sent at, seconds to the ack)

    async def run(self, stop: asyncio.Event) -> None:
        async with grpc.aio.insecure_channel(self._target) as channel:
            call = ingest_pb2_grpc.IngestServiceStub(channel).Ingest(
                metadata=device_metadata(self._credential)
            )
            batch_no = 0
            while not stop.is_set():
                batch_no += 1
                sent = time.perf_counter()
                await call.write(self._batch(batch_no))
                ack = await call.read()
                assert ack.batch_no == batch_no
                self.samples.append((sent, time.perf_counter() - sent))
                await asyncio.sleep(0.01)
            await call.done_writing()

    def p99_ms(self, start: float, end: float) -> float:
        window = [latency for sent, latency in self.samples if start <= sent < end]
        assert len(window) >= 50, f"only {len(window)} samples"
        return float(np.percentile(window, 99)) * 1000

    def _batch(self, batch_no: int) -> ingest_pb2.IngestRequest:
        points = ingest_pb2.SeriesPoints(series_id=self._series, timestamps_ns=[time.time_ns()], values=[1.0])
        return ingest_pb2.IngestRequest(batch_no=batch_no, series=[points])


def plant_messages(series_ids: list[str], start_ns: int) -> Iterator[tuple[float, list[tuple[str, str]]]]:
    """(device seconds since the start, the messages of that tick): RATE points a second in all."""
    per_message = round(RATE * TICK_S / len(series_ids))
    step_ns = int(TICK_S * 1e9) // per_message
    for tick in range(round(OUTAGE_S / TICK_S)):
        first = start_ns + tick * int(TICK_S * 1e9)
        messages = []
        for index, series_id in enumerate(series_ids):
            points = [
                [first + i * step_ns, float(index * 10**6 + tick * per_message + i)]
                for i in range(per_message)
            ]
            messages.append((f"sfcloud/{series_id}", json.dumps({"points": points})))
        yield tick * TICK_S, messages


async def publish_plant(
    broker: MosquittoBroker, series_ids: list[str], speedup: float, on_half
) -> tuple[list, float]:
    """Publish the outage's points at RATE (sped up), calling ``on_half`` halfway.

    Every message sent, and the rate the plant really published at (points per wall-clock second).
    """
    start_ns = time.time_ns() - int((OUTAGE_S - OUTAGE_S / speedup) * 1e9)  # the last point lands about now
    client = broker.client(f"plant-{time.monotonic_ns()}")
    began, sent, halfway = time.monotonic(), [], False
    try:
        for device_s, messages in plant_messages(series_ids, start_ns):
            await asyncio.sleep(max(began + device_s / speedup - time.monotonic(), 0))
            sent.extend(messages)
            infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
            if not halfway and device_s >= OUTAGE_S / 2:
                halfway = True
                await on_half()
        published_s = time.monotonic() - began
        for info in infos:
            await asyncio.to_thread(info.wait_for_publish, 10)
    finally:
        client.disconnect()
        client.loop_stop()
    return sent, POINTS / published_s


async def buffered(path: Path, points: int) -> None:
    """Wait until the agent's buffer holds ``points`` readings (read beside it: SQLite in WAL mode)."""
    while True:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            if db.execute("SELECT count(*) FROM readings").fetchone()[0] >= points:
                return
        await asyncio.sleep(0.1)


@pytest.mark.parametrize("speedup", [40, pytest.param(1, marks=pytest.mark.long)], ids=["40x", "real-time"])
async def test_ten_minutes_offline_are_drained_through_the_backfill_lane(
    stack, signer, admin_url, tmp_path, speedup
):
    """RELIABILITY D4: 10 minutes offline at 200 points/s, the agent killed: 120,000 points stored once."""
    plant = await create_tenant(
        stack.targets["tenancy"], signer, "Outage plant", series_count=SERIES, plan="standard"
    )
    neighbour = await create_tenant(stack.targets["tenancy"], signer, "Outage neighbour", series_count=1)
    host, port = stack.targets["ingest"].rsplit(":", 1)
    proxy = await FaultProxy(host, int(port)).start()
    probe = LatencyProbe(stack.targets["ingest"], neighbour.credential, neighbour.series_ids[0])
    stop_probe = asyncio.Event()
    probing = asyncio.create_task(probe.run(stop_probe))
    with mosquitto(tmp_path) as broker:
        client_id = f"edge-{plant.id}"
        broker.open_session(client_id, "sfcloud/#")
        config = agent_config(
            tmp_path,
            proxy.target,
            broker.port,
            client_id,
            BATCH_POINTS,
            retry_max_s=1,
            ack_timeout_s=3,
            drain_min_points_per_s=PACE.drain_min_points_per_s,
        )
        agent = AgentProcess(config, plant.credential)
        await agent.start()
        await asyncio.sleep(3)  # the neighbour's normal latency, with the agent connected and idle
        normal = (time.perf_counter() - 3, time.perf_counter())
        proxy.blackhole()

        async def kill_agent_mid_outage() -> None:
            await agent.kill()
            await agent.start()

        messages, plant_rate = await publish_plant(broker, plant.series_ids, speedup, kill_agent_mid_outage)
        await asyncio.wait_for(
            buffered(tmp_path / "buffer.db", POINTS), 30
        )  # the outage ends when all is buffered
        assert stored_count(admin_url, plant.id) == 0  # the link really was down
        proxy.restore()
        drain_started = time.perf_counter()
        while time.perf_counter() - drain_started < 60 + 2 * POINTS / (PACE.drain_multiple * RATE * speedup):
            if await asyncio.to_thread(stored_count, admin_url, plant.id) >= POINTS:
                break
            await asyncio.sleep(0.05)
        drained = time.perf_counter()
        await asyncio.sleep(1)
        assert await agent.stop() == 0
        stop_probe.set()
        await probing
    await proxy.close()

    total, pairs, values = stored_pairs(admin_url, plant.id)
    expected = {
        (topic.split("/", 1)[1], ts): value
        for topic, payload in messages
        for ts, value in json.loads(payload)["points"]
    }
    assert total == POINTS and pairs == set(expected), f"{total} stored, {len(pairs)} distinct of {POINTS}"
    assert all(values[pair] == value for pair, value in expected.items())  # device timestamps and values kept
    acknowledged = re.search(r"(\d+) points acknowledged .* \((\d+) on the backfill lane\)", agent.summary())
    assert acknowledged and int(acknowledged[1]) == int(acknowledged[2]) == POINTS, agent.summary()
    normal_p99 = probe.p99_ms(*normal)
    drain_p99 = probe.p99_ms(drain_started, max(drained, drain_started + 2))
    drain_rate = (POINTS - BATCH_POINTS) / (drained - drain_started)  # the first batch goes at once
    print(
        f"drain {drained - drain_started:.1f} s at {drain_rate:.0f} points/s, the plant's {plant_rate:.0f}"
        f" ({drain_rate / plant_rate:.1f} times); neighbour p99 {normal_p99:.1f} ms normal,"
        f" {drain_p99:.1f} ms while draining; the agent's pace: {paced_at(agent.log_path)} points/s"
    )
    assert drain_rate <= PACE.drain_multiple * ESTIMATE_SLACK * plant_rate
    assert drain_p99 <= 2 * normal_p99


def paced_at(log_path: Path) -> list[int]:
    """The paces the agent logged at the start of each paced stretch (JSON log lines)."""
    return [
        json.loads(line)["points_per_s"]
        for line in log_path.read_text(errors="replace").splitlines()
        if "backfill paced at" in line
    ]
