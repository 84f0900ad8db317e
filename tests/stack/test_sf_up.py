"""`sf up` as a new user runs it: separate processes, the demo tenant, live data, a clean Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from sf.inprocess import free_port
from tests.e2e.provision import session_cookie

OWNER = ("owner@demo-precision.example", "owner-demo-pass")
LATEST = "query ($ids: [ID!]!) { latest(seriesIds: $ids) { seriesId timestamp } }"


def wait_for_banner(process: subprocess.Popen, timeout: float = 150) -> list[str]:
    lines, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise AssertionError("sf up exited early:\n" + "".join(lines))
        lines.append(line)
        if line.startswith("Press Ctrl-C"):
            return lines
    raise AssertionError("no banner in time:\n" + "".join(lines))


def sessions_client(base_url: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=base_url, timeout=30)
    response = client.post("/login", data={"email": OWNER[0], "password": OWNER[1]})
    assert response.status_code == 303
    client.headers["cookie"] = session_cookie(response)
    return client, client.get("/api/session").json()["csrfToken"]


def gql(client: httpx.Client, csrf: str, query: str, **variables) -> dict:
    response = client.post(
        "/graphql", json={"query": query, "variables": variables}, headers={"x-csrf-token": csrf}
    )
    return response.json()["data"]


def processes_using(folder: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            if any(str(folder) in part for part in process.info["cmdline"] or ()):
                found.append(process)
        except psutil.Error:
            continue
    return found


@pytest.mark.slow
def test_sf_up_serves_the_demo_with_live_data_and_stops_cleanly(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    env.update(
        {
            f"SF_{name}_LISTEN": f"127.0.0.1:{free_port()}"
            for name in ("TENANCY", "INGEST", "ANALYTICS", "WORKER")
        }
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "sf", "up", "--data-dir", str(tmp_path / "data"), "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        banner = "".join(wait_for_banner(process))
        assert f"open http://localhost:{port}/" in banner and OWNER[0] in banner
        client, csrf = sessions_client(f"http://127.0.0.1:{port}")
        machines = gql(client, csrf, "{ machines { name series { id name } } }")["machines"]
        assert sorted(m["name"] for m in machines) == ["CNC-01", "CNC-02", "CNC-03", "PRESS-01", "PRESS-02"]
        ids = [s["id"] for m in machines for s in m["series"]]
        deadline = time.monotonic() + 60
        while len(gql(client, csrf, LATEST, ids=ids)["latest"]) < len(ids) and time.monotonic() < deadline:
            time.sleep(1)
        assert len(gql(client, csrf, LATEST, ids=ids)["latest"]) == len(ids)  # every demo series is streaming
        client.close()
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(60) == 0
    time.sleep(1)
    assert processes_using(tmp_path) == []
