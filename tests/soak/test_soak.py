"""RELIABILITY soak: the whole stack (`sf up`, separate processes) under mixed load for a long time.

The load (tests/soak/load.py, its own process): a device streaming plain points, GraphQL queries with
an API key, live subscribers and a browser polling pages. Each window the test samples every service
process's memory, open files and TCP connections, PostgreSQL's backends and Redis's connections; the
load reports each window's p99 latencies and errors. It passes when no error was returned, the device
lost and failed nothing, the ingest rate was held, and none of the samples grew after the warm-up:
the last third of the windows against the first third after it (medians; a little slack for noise).

`make test` runs a short version (40 s after 10 s of warm-up, a tenth of the load); `make test-long` the full one:
30 minutes after a 5-minute warm-up, ingest at half the benchmarked plain-point rate in the benchmark's
shape (docs/BENCHMARKS.md: 10 series, so 90,000 points a batch at 10 batches a second), 50 queries/s,
100 subscribers.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import psutil
import pytest

from services.runtime.tokens import TokenSigner
from sf.inprocess import free_port
from sf.seeding import create_tenant
from tests.e2e.provision import session_cookie
from tests.soak.load import Plan
from tests.stack.test_sf_up import OWNER, processes_using, wait_for_banner

OPERATOR = ("operator@sfcloud.local", "operator-demo-pass")
SERVICES = ("TENANCY", "INGEST", "ANALYTICS", "WORKER")


@dataclass(frozen=True)
class Size:
    seconds: float
    warmup_s: float
    interval_s: float
    ingest_rate: float
    ingest_series: int
    queries_per_s: float
    subscribers: int
    allowed_rise: dict[str, tuple[float, float]]  # per kind of figure: (ratio, absolute)


# How much a figure may rise from the first third after the warm-up to the last: (ratio, absolute).
STRICT = {
    "rss_mb": (1.10, 8.0),
    "fds": (1.0, 2),
    "tcp": (1.0, 2),
    "connections": (1.0, 2),
    "p99_ms": (1.5, 10.0),
}
COUNTS = {"fds", "tcp", "connections"}
# The short run is a smoke test: a 5-s window holds 50 queries, so its p99 is nearly its slowest, which
# a busy machine moves a lot; and 10 s of warm-up is too little for the connection pools to fill.
LENIENT = STRICT | {"connections": (1.0, 8), "p99_ms": (4.0, 50.0)}
SHORT = Size(seconds=50, warmup_s=10, interval_s=5, ingest_rate=20_000, ingest_series=50,
             queries_per_s=10, subscribers=20, allowed_rise=LENIENT)  # fmt: skip
LONG = Size(seconds=2100, warmup_s=300, interval_s=60, ingest_rate=900_000, ingest_series=10,
            queries_per_s=50, subscribers=100, allowed_rise=STRICT)  # fmt: skip


class Stack:
    """`sf up` in a folder of its own, on free ports."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.key = "soak-" + os.urandom(24).hex()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
        self.listen = {name: f"127.0.0.1:{free_port()}" for name in SERVICES}
        env.update({f"SF_{name}_LISTEN": address for name, address in self.listen.items()})
        env["SF_SIGNING_KEY"] = self.key
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sf", "up", "--data-dir", str(folder / "data"), "--port", str(self.port)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        wait_for_banner(self.process)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(60)

    def sample(self) -> dict[str, dict[str, float]]:
        """Per process (service, simulator, PostgreSQL as one, Redis): RSS, open files, TCP connections."""
        out = {}
        for child in psutil.Process(self.process.pid).children():
            with child.oneshot():
                name = " ".join(child.cmdline()[3:5])  # python -m sf serve NAME
                if not name.strip():
                    continue  # not one of ours (a helper of the embedded databases)
                out[name] = {
                    "rss_mb": child.memory_info().rss / 2**20,
                    "fds": child.num_fds(),
                    "tcp": len(child.net_connections("tcp")),
                }
        for process in processes_using(self.folder / "data"):
            if process.name() == "postgres":  # the postmaster: a backend per connection, and a few workers
                out["postgres"] = {"connections": len(process.children())}
            elif "redis" in process.name():
                out["redis"] = {
                    "rss_mb": process.memory_info().rss / 2**20,
                    "connections": len(process.net_connections("all")),
                }
        return out


def login(url: str, account: tuple[str, str]) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=url, timeout=30)
    response = client.post("/login", data={"email": account[0], "password": account[1]})
    assert response.status_code == 303, response.text
    cookie = session_cookie(response)
    client.headers["cookie"] = cookie
    client.headers["x-csrf-token"] = client.get("/api/session").json()["csrfToken"]
    return client, cookie


def gql(client: httpx.Client, query: str, **variables) -> dict:
    body = client.post("/graphql", json={"query": query, "variables": variables}).json()
    assert "errors" not in body, body
    return body["data"]


def prepare(stack: Stack, size: Size, folder: Path) -> Path:
    """The operator moves the demo tenant to the plan the load needs; the owner makes an API key; a
    second tenant gets the device that streams the bulk of the points."""
    operator, _ = login(stack.url, OPERATOR)
    demo = gql(operator, "{ tenants(first: 50) { nodes { id name } } }")["tenants"]["nodes"]
    demo_id = next(t["id"] for t in demo if t["name"].startswith("Demo Precision"))
    gql(operator, 'mutation ($id: ID!) { changePlan(tenantId: $id, planCode: "enterprise") { errors { code } } }',
        id=demo_id)  # fmt: skip
    owner, cookie = login(stack.url, OWNER)
    key = gql(owner, 'mutation { createApiKey(name: "soak", scopes: [READ]) { key } }')["createApiKey"]["key"]
    machines = gql(owner, "{ machines { id series { id } } }")["machines"]
    bulk = asyncio.run(
        create_tenant(stack.listen["TENANCY"], TokenSigner(stack.key), "Soak", series_count=size.ingest_series,
                      plan="enterprise")
    )  # fmt: skip
    plan = Plan(
        gateway=stack.url, ingest=stack.listen["INGEST"], seconds=size.seconds, interval_s=size.interval_s,
        device_credential=bulk.credential, ingest_series=bulk.series_ids, ingest_rate=size.ingest_rate,
        api_key=key, queries_per_s=size.queries_per_s,
        live_series=[s["id"] for m in machines for s in m["series"]], subscribers=size.subscribers,
        session_cookie=cookie, pages=["/", "/alarms", *(f"/machines/{m['id']}" for m in machines[:3])],
        page_every_s=1.0,
    )  # fmt: skip
    path = folder / "plan.json"
    path.write_text(json.dumps(asdict(plan)))
    return path


def rises(windows: list[dict], size: Size) -> list[str]:
    """Each sampled figure whose last third after the warm-up rose past its allowance over the first."""
    after = [w for w in windows if w["t"] > size.warmup_s]
    third = max(1, len(after) // 3)
    figures: dict[str, list[float]] = {}
    for window in after:
        for name, value in flatten(window).items():
            figures.setdefault(name, []).append(value)
    grew = []
    for name, values in figures.items():
        kind = name.rsplit(".", 1)[1]
        ratio, slack = size.allowed_rise[kind]
        # Counts of files and connections step up and down as clients open and close them (the gateway's
        # moved between 162 and 166 from the first minute of a 35-minute run to the last): growth is the
        # last third rising past the most the first third held, not past its median.
        steady = max if kind in COUNTS else statistics.median
        first, last = steady(values[:third]), statistics.median(values[-third:])
        if last > first * ratio + slack:
            grew.append(f"{name}: {first:.1f} → {last:.1f}")
    return grew


def flatten(window: dict) -> dict[str, float]:
    out = {f"{proc}.{k}": v for proc, figures in window["processes"].items() for k, v in figures.items()}
    out |= {f"{kind}.p99_ms": window[kind]["p99_ms"] for kind in ("graphql", "page") if kind in window}
    return out


def soak(folder: Path, size: Size) -> dict:
    stack = Stack(folder)
    try:
        plan = prepare(stack, size, folder)
        load = subprocess.Popen([sys.executable, "-m", "tests.soak.load", str(plan)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)  # fmt: skip
        windows, summary = [], None
        for line in load.stdout:
            record = json.loads(line)
            if record.get("done"):
                summary = record
                break
            record["processes"] = stack.sample()
            windows.append(record)
        assert load.wait(120) == 0, load.stderr.read()
    finally:
        stack.stop()
    result = {"size": asdict(size), "windows": windows, "summary": summary}
    (folder / "soak.json").write_text(json.dumps(result, indent=1))
    return result


def check(result: dict, size: Size) -> None:
    windows, device = result["windows"], result["summary"]["device"]
    errors = [(w["t"], w["errors"], w["reasons"]) for w in windows if w["errors"]]
    assert not errors, errors
    assert all(w["live_messages"] > 0 for w in windows), [w["live_messages"] for w in windows]
    assert device["errors"] == device["dropped_points"] == device["unacked_points"] == 0, device
    assert device["fatal"] is None, device
    rate = device["points_acked"] / size.seconds
    assert rate >= 0.9 * size.ingest_rate, f"ingest held {rate:.0f} points/s of {size.ingest_rate:.0f}"
    assert not rises(windows, size), rises(windows, size)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_forty_seconds_of_mixed_load_leave_nothing_growing_and_no_error(tmp_path):
    """RELIABILITY soak (short): the soak at a tenth of the load for 40 s after its warm-up."""
    check(soak(tmp_path, SHORT), SHORT)


@pytest.mark.long
@pytest.mark.timeout(3_000)
def test_thirty_minutes_of_mixed_load_leave_nothing_growing_and_no_error(tmp_path):
    """RELIABILITY soak: 30 minutes after a 5-minute warm-up at the full mixed load."""
    check(soak(tmp_path, LONG), LONG)
