"""The whole edge agent in-process: an OPC UA server's samples reach the cloud with their source times;
the configuration file is checked whole, naming the wrong key; `sf edge` exits with the right codes."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

import tscodec
from edge.agent import run_agent
from edge.config import CREDENTIAL_ENV, load, parse
from edge.errors import EdgeConfigError
from tests.e2e.provision import create_tenant
from tests.peers.opcua_server import opcua_server

pytestmark = pytest.mark.slow
SF = Path(sys.executable).with_name("sf")
CREDENTIAL = "sfd_AAAAAAAAAAAA_" + "B" * 32
SERIES = "6f1c0f52-8d1e-4b8e-9a57-0c6f3d1f2a01"


def config(target: str, buffer: Path, sources: list[dict], credential: str = CREDENTIAL) -> dict:
    return {
        "cloud": {"target": target, "tls": False, "credential": credential},
        "buffer": {"path": str(buffer)},
        "forward": {"retry_initial_s": 0.05},
        "sources": sources,
    }


def stored(admin_conn, tenant_id) -> list[tuple[str, int]]:
    return admin_conn.execute(
        "SELECT series_id::text, count FROM telemetry.blocks WHERE tenant_id = %s", [tenant_id]
    ).fetchall()


async def test_opc_ua_samples_reach_the_cloud_with_their_source_times(stack, signer, admin_conn, tmp_path):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Edge OPC UA")
    async with opcua_server() as peer:
        nodes = [{"node": peer.node_ids["temperature"], "series": tenant.series_ids[0]}]
        source = {
            "kind": "opcua",
            "name": "press",
            "endpoint": peer.endpoint,
            "interval_ms": 50,
            "nodes": nodes,
        }
        agent_config = parse(
            config(stack.targets["ingest"], tmp_path / "b.db", [source], tenant.credential), {}
        )
        stop = asyncio.Event()
        running = asyncio.create_task(run_agent(agent_config, stop))
        await asyncio.sleep(1.0)  # connected and subscribed
        first = datetime.now(UTC) - timedelta(minutes=5)
        for i in range(20):
            await peer.write("temperature", 20.0 + i, first + timedelta(seconds=i))
            await asyncio.sleep(0.06)
        for _ in range(100):
            if sum(count for _, count in stored(admin_conn, tenant.id)) >= 21:
                break
            await asyncio.sleep(0.05)
        stop.set()
        stats = await running
    first_ns = (first - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1) * 1000
    samples = {}
    for (payload,) in admin_conn.execute(
        "SELECT payload_chunks || payload_rest FROM telemetry.blocks WHERE tenant_id = %s", [tenant.id]
    ):
        samples.update(zip(*(column.tolist() for column in tscodec.decode(payload)), strict=True))
    written = {
        ts: value for ts, value in samples.items() if first_ns <= ts < first_ns + 20 * 10**9
    }  # besides these, the agent stored the value the variable had when it subscribed
    assert written == {first_ns + i * 10**9: 20.0 + i for i in range(20)}
    assert stats.points_acked == len(samples) and stats.fatal is None


async def test_a_revoked_or_unknown_credential_stops_the_agent_and_keeps_the_buffer(stack, tmp_path):
    """The cloud refusing the device for good ends the run; readings stay buffered for a fixed credential."""
    async with opcua_server() as peer:
        nodes = [{"node": peer.node_ids["temperature"], "series": SERIES}]
        source = {
            "kind": "opcua",
            "name": "press",
            "endpoint": peer.endpoint,
            "interval_ms": 50,
            "nodes": nodes,
        }
        agent_config = parse(config(stack.targets["ingest"], tmp_path / "b.db", [source]), {})
        await peer.write("temperature", 1.0, datetime.now(UTC))
        stats = await asyncio.wait_for(run_agent(agent_config, asyncio.Event()), 30)
    assert stats.fatal.startswith("UNAUTHENTICATED")


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda c: c.pop("cloud"), "cloud"),
        (lambda c: c["cloud"].pop("target"), "cloud.target"),
        (lambda c: c["cloud"].update(tls="yes"), "cloud.tls"),
        (lambda c: c["cloud"].update(credential="secret"), "cloud.credential"),
        (lambda c: c["buffer"].update(max_mb=0), "buffer.max_mb"),
        (lambda c: c["forward"].update(batch_points=1_000_000), "forward.batch_points"),
        (lambda c: c["forward"].update(drain_multiple=0), "forward.drain_multiple"),
        (lambda c: c["forward"].update(drain_min_points_per_s="fast"), "forward.drain_min_points_per_s"),
        (lambda c: c.update(sources=[]), "sources"),
        (lambda c: c["sources"][0].update(kind="modbus"), "sources[0].kind"),
        (lambda c: c["sources"][0].update(port="x"), "sources[0].port"),
        (lambda c: c["sources"].append(dict(c["sources"][0])), "sources"),
    ],
)
def test_a_wrong_configuration_names_the_key(change, where):
    data = config("ingest:443", Path("b.db"), [{"kind": "mqtt", "name": "m", "host": "h", "client_id": "c"}])
    change(data)
    with pytest.raises(EdgeConfigError) as caught:
        parse(data, {})
    assert caught.value.where == where


def test_the_drain_pace_is_read_from_the_forward_section():
    data = config("ingest:443", Path("b.db"), [{"kind": "mqtt", "name": "m", "host": "h", "client_id": "c"}])
    assert (parse(data, {}).forward.drain_multiple, parse(data, {}).forward.drain_min_points_per_s) == (
        5,
        1_000,
    )
    data["forward"].update(drain_multiple=3, drain_min_points_per_s=250)
    forward = parse(data, {}).forward
    assert (forward.drain_multiple, forward.drain_min_points_per_s) == (3, 250)


def test_the_credential_comes_from_the_environment_first(tmp_path):
    path = tmp_path / "edge.yaml"
    data = config(
        "ingest:443", tmp_path / "b.db", [{"kind": "mqtt", "name": "m", "host": "h", "client_id": "c"}]
    )
    del data["cloud"]["credential"]
    path.write_text(yaml.safe_dump(data))
    assert load(path, {CREDENTIAL_ENV: CREDENTIAL}).credential == CREDENTIAL
    with pytest.raises(EdgeConfigError, match=CREDENTIAL_ENV):
        load(path, {})


def test_sf_edge_exits_2_naming_the_key_and_status_shows_the_buffer(tmp_path):
    path = tmp_path / "edge.yaml"
    data = config(
        "ingest:443", tmp_path / "b.db", [{"kind": "mqtt", "name": "m", "host": "h", "client_id": "c"}]
    )
    path.write_text(yaml.safe_dump({**data, "buffer": {"max_mb": -1}}))
    run = subprocess.run([SF, "edge", "run", "--config", path], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "buffer.max_mb" in run.stderr and "Traceback" not in run.stderr
    path.write_text(yaml.safe_dump(data))
    status = subprocess.run(
        [SF, "edge", "status", "--config", path], capture_output=True, text=True, timeout=60
    )
    assert status.returncode == 0 and "0 readings waiting" in status.stdout
