"""Crash test (issue #5, RELIABILITY.md D1/D2): a million points from an MQTT broker through the edge
agent to the ingest service while processes die, the link is cut right after commits, and
PostgreSQL stops in immediate mode. At the end every point is stored exactly once.

Path: test publisher → Mosquitto → `sf edge run` (SQLite buffer) → fault proxy → `sf serve ingest`
→ PostgreSQL (its own embedded server, so that stopping it touches no other test). The proof reads
every stored block back and compares the (series, timestamp) pairs with what was published: equal
sets and equal totals mean no gap, no duplicate, and every acknowledged batch present (the agent
deletes a batch from its buffer only when acknowledged, so a lost acknowledged batch would be a gap).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from sf.embedded import EmbeddedPostgres
from sf.inprocess import InProcessStack, free_port
from sf.migrate import migrate
from tests.durability.agents import AgentProcess, agent_config
from tests.durability.stored import stored_count, stored_pairs
from tests.e2e.provision import create_tenant
from tests.faults.postgres import start_again, stop_immediately
from tests.faults.processes import ServiceProcess, ingest_env
from tests.faults.proxy import FaultProxy
from tests.peers.mqtt_broker import mosquitto

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

TOTAL = 1_000_000
PER_MESSAGE = 1_000  # points per MQTT message, and per Ingest batch
SERIES = 4
DONE_WITHIN_S = 180


@pytest.fixture(scope="module")
def crash_postgres(tmp_path_factory) -> EmbeddedPostgres:
    """A PostgreSQL of this module's own: the test stops it in immediate mode."""
    postgres = EmbeddedPostgres(tmp_path_factory.mktemp("crash") / "postgres")
    migrate(postgres.start())
    yield postgres
    postgres.stop()


@pytest.fixture(scope="module")
async def crash_stack(crash_postgres, redis_url, signing_key) -> InProcessStack:
    stack = await InProcessStack(crash_postgres.admin_url, redis_url, signing_key).start()
    yield stack
    await stack.stop()


def published_messages(series_ids: list[str], start_ns: int) -> list[tuple[str, str]]:
    """TOTAL points as MQTT messages of PER_MESSAGE points each, series interleaved, 1 ms apart."""
    messages = []
    per_series = TOTAL // len(series_ids)
    for first in range(0, per_series, PER_MESSAGE):
        for index, series_id in enumerate(series_ids):
            points = [
                [start_ns + (first + i) * 10**6, float(index * per_series + first + i)]
                for i in range(PER_MESSAGE)
            ]
            messages.append((f"sfcloud/{series_id}", json.dumps({"points": points})))
    return messages


async def when_stored(admin_url: str, tenant_id, share: float) -> None:
    """Wait until ``share`` of TOTAL is stored."""
    while (await asyncio.to_thread(stored_count, admin_url, tenant_id) or 0) < share * TOTAL:  # noqa: ASYNC110 - a database has no event
        await asyncio.sleep(0.05)


Fault = tuple[float, Callable[[], Awaitable[None]]]


async def stream_with_faults(
    stack,
    signer,
    tmp_path: Path,
    faults: Callable[[ServiceProcess, AgentProcess], list[Fault]],
    cuts: int,
):
    """Run the whole path, applying each fault when its share of the points is stored; then check."""
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Crash", series_count=SERIES, plan="pro")
    ingest = ServiceProcess("ingest", ingest_env(stack), free_port(), tmp_path)
    await ingest.start()
    proxy = await FaultProxy("127.0.0.1", int(ingest.target.rsplit(":", 1)[1]), seed=5).start()
    with mosquitto(tmp_path) as broker:
        client_id = f"edge-{tenant.id}"
        broker.open_session(client_id, "sfcloud/#")
        messages = published_messages(tenant.series_ids, time.time_ns() - 3_600 * 10**9)
        await asyncio.to_thread(broker.publish, messages)
        agent = AgentProcess(
            agent_config(tmp_path, proxy.target, broker.port, client_id, PER_MESSAGE), tenant.credential
        )
        await agent.start()
        proxy.cut_after_response(probability=0.5, limit=cuts)

        try:
            for share, fault in faults(ingest, agent):
                await asyncio.wait_for(when_stored(stack.admin_url, tenant.id, share), DONE_WITHIN_S)
                await fault()
            await asyncio.wait_for(when_stored(stack.admin_url, tenant.id, 1.0), DONE_WITHIN_S)
        except TimeoutError:
            pytest.fail(
                f"stored {stored_count(stack.admin_url, tenant.id)} of {TOTAL}; agent log:\n{agent.log_tail()}"
            )
        finally:
            await agent.stop()
            await ingest.kill()
            await proxy.close()
    await asyncio.sleep(0.5)  # nothing more may arrive
    total, pairs, values = stored_pairs(stack.admin_url, tenant.id)
    assert proxy.cuts == cuts
    assert total == TOTAL, f"{total - len(pairs)} duplicates, {TOTAL - len(pairs)} missing"
    assert len(pairs) == TOTAL
    expected = dict(_published(messages))
    assert pairs == set(expected)
    assert all(values[pair] == value for pair, value in expected.items())


def _published(messages):
    """((series, ts), value) of every published point."""
    for topic, payload in messages:
        series_id = topic.split("/", 1)[1]
        for ts, value in json.loads(payload)["points"]:
            yield (series_id, ts), value


async def test_ingest_killed_three_times_and_the_agent_once(crash_stack, signer, tmp_path):
    """RELIABILITY D1: besides the kills, the proxy cuts the link 1,000 times right after a commit."""

    def faults(ingest: ServiceProcess, agent: AgentProcess) -> list[Fault]:
        async def restart_agent() -> None:
            await agent.kill()
            await agent.start()

        return [(0.2, ingest.restart), (0.35, restart_agent), (0.5, ingest.restart), (0.75, ingest.restart)]

    await stream_with_faults(crash_stack, signer, tmp_path, faults, cuts=1_000)


async def test_postgres_stopped_in_immediate_mode_mid_stream(crash_stack, crash_postgres, signer, tmp_path):
    """RELIABILITY D2: PostgreSQL stopped in immediate mode mid-stream and restarted: every point stored once."""

    def faults(ingest: ServiceProcess, agent: AgentProcess) -> list[Fault]:
        async def crash_postgres_and_restart() -> None:
            url = crash_postgres.admin_url
            await asyncio.to_thread(stop_immediately, crash_postgres)
            await asyncio.sleep(1)
            assert await asyncio.to_thread(start_again, crash_postgres) == url

        return [(0.4, crash_postgres_and_restart)]

    await stream_with_faults(crash_stack, signer, tmp_path, faults, cuts=100)
