"""The soak test's mixed load, in its own process so that the stack it loads is measured, not the load.

    python -m tests.soak.load PLAN.json

For ``seconds`` it runs, at once: a device streaming plain points at ``ingest_rate`` over the
device's own session (sfclient, as an edge agent does), ``queries_per_s`` GraphQL queries with an API
key, ``subscribers`` live-value subscribers over graphql-transport-ws, and a signed-in browser polling
the web app's pages. Every ``interval_s`` it prints one JSON line of that window (latency
percentiles, answers, errors with their first reasons) and, at the end, one line with the device's
totals. Any failure is counted, never retried away.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field

import grpc
import httpx
import numpy as np
import websockets

from sfclient.backlog import Backlog
from sfclient.session import DeviceSession
from sfcloud.v1 import ingest_pb2, ingest_pb2_grpc

TICK_S = 0.1  # the device sends one batch per tick
QUERY_CONNECTIONS = 8
MAX_WAITING_QUERIES = 200  # past it the rate is not being served: counted as errors, not queued
LIVE = "subscription ($ids: [ID!]!) { liveValues(seriesIds: $ids) { seriesId timestamp value } }"
QUERIES = [
    "{ machines { id name series { id name } } }",
    "query ($ids: [ID!]!) { latest(seriesIds: $ids) { seriesId timestamp value } }",
    "{ alarmsConnection(first: 20) { nodes { id state severity } pageInfo { hasNextPage } } }",
    "{ me { kind } }",
]


@dataclass
class Plan:
    gateway: str
    ingest: str
    seconds: float
    interval_s: float
    device_credential: str
    ingest_series: list[str]
    ingest_rate: float
    api_key: str
    queries_per_s: float
    live_series: list[str]
    subscribers: int
    session_cookie: str
    pages: list[str]
    page_every_s: float


@dataclass
class Window:
    """What happened in one interval, by kind of load."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    reasons: dict[str, str] = field(default_factory=dict)
    live_messages: int = 0

    def ok(self, kind: str, seconds: float) -> None:
        self.latencies[kind].append(seconds)

    def failed(self, kind: str, reason: str) -> None:
        self.errors[kind] += 1
        self.reasons.setdefault(kind, reason[:300])

    def report(self, elapsed_s: float) -> dict:
        out: dict = {"t": round(elapsed_s, 1), "live_messages": self.live_messages}
        for kind, seconds in self.latencies.items():
            ms = np.array(seconds) * 1000
            out[kind] = {
                "n": len(ms),
                "p50_ms": float(np.percentile(ms, 50)),
                "p99_ms": float(np.percentile(ms, 99)),
            }
        out["errors"] = dict(self.errors)
        out["reasons"] = self.reasons
        return out


class Load:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.window = Window()
        self.stop = asyncio.Event()

    async def run(self) -> dict:
        channel = grpc.aio.insecure_channel(self.plan.ingest)
        stub = ingest_pb2_grpc.IngestServiceStub(channel)
        device = DeviceSession(
            "soak", stub, self.plan.device_credential, Backlog(50 * self._points_per_tick())
        )
        started = time.monotonic()
        async with asyncio.TaskGroup() as group:
            session = group.create_task(device.run())
            group.create_task(self._feed(device))
            group.create_task(self._queries())
            for n in range(self.plan.subscribers):
                group.create_task(self._subscriber(n))
            group.create_task(self._pages())
            await self._report_windows(started)
            self.stop.set()
            device.close()
        await channel.close()
        stats = session.result()
        return {"done": True, "seconds": round(time.monotonic() - started, 1), "device": stats.__dict__}

    def _points_per_tick(self) -> int:
        return max(len(self.plan.ingest_series), round(self.plan.ingest_rate * TICK_S))

    async def _report_windows(self, started: float) -> None:
        while (elapsed := time.monotonic() - started) < self.plan.seconds:
            await asyncio.sleep(min(self.plan.interval_s, self.plan.seconds - elapsed))
            window, self.window = self.window, Window()
            print(json.dumps(window.report(time.monotonic() - started)), flush=True)

    async def _feed(self, device: DeviceSession) -> None:
        """Each tick, every series' samples since the last tick, evenly spaced, stamped in real time."""
        per_series = max(1, self._points_per_tick() // len(self.plan.ingest_series))
        step_ns = round(TICK_S * 1e9 / per_series)
        rng = np.random.default_rng(7)
        next_ns = time.time_ns()
        next_tick = time.monotonic()
        while not self.stop.is_set():
            stamps = (next_ns + step_ns * np.arange(per_series)).tolist()
            values = np.round(60 + rng.normal(0, 1, (len(self.plan.ingest_series), per_series)), 2)
            device.offer(
                [
                    ingest_pb2.SeriesPoints(series_id=sid, timestamps_ns=stamps, values=row.tolist())
                    for sid, row in zip(self.plan.ingest_series, values, strict=True)
                ]
            )
            next_ns += step_ns * per_series
            next_tick += TICK_S
            await asyncio.sleep(max(0.0, next_tick - time.monotonic()))

    async def _queries(self) -> None:
        """Queries at a steady rate, each on its own task, so that a slow answer does not slow the rate."""
        headers = {"authorization": f"Bearer {self.plan.api_key}"}
        bodies = itertools.cycle(
            json.dumps({"query": q, "variables": {"ids": self.plan.live_series[:20]}}) for q in QUERIES
        )
        # a fixed pool, so the gateway's open connections measure the gateway, not the client's pool growing
        pool = httpx.Limits(max_connections=QUERY_CONNECTIONS, max_keepalive_connections=QUERY_CONNECTIONS)
        async with httpx.AsyncClient(
            base_url=self.plan.gateway, headers=headers, timeout=30, limits=pool
        ) as http:
            pending: set[asyncio.Task] = set()
            next_at = time.monotonic()
            while not self.stop.is_set():
                if len(pending) >= MAX_WAITING_QUERIES:  # not kept up with: say so, never queue without end
                    self.window.failed(
                        "graphql", f"{len(pending)} queries waiting: the stack is not keeping up"
                    )
                else:
                    task = asyncio.create_task(self._query(http, next(bodies)))
                    pending.add(task)
                    task.add_done_callback(pending.discard)
                next_at += 1 / self.plan.queries_per_s
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            await asyncio.gather(*pending)

    async def _query(self, http: httpx.AsyncClient, body: str) -> None:
        started = time.perf_counter()
        try:
            response = await http.post("/graphql", content=body, headers={"content-type": "application/json"})
        except httpx.HTTPError as exc:
            self.window.failed("graphql", repr(exc))
            return
        if response.status_code != 200 or "errors" in response.json():
            self.window.failed("graphql", f"{response.status_code} {response.text}")
        else:
            self.window.ok("graphql", time.perf_counter() - started)

    async def _subscriber(self, n: int) -> None:
        """One live subscriber for the whole run; a closed socket or an error message is a failure."""
        url = self.plan.gateway.replace("http", "ws", 1) + "/graphql"
        series = self.plan.live_series[n % len(self.plan.live_series)]
        headers = {"authorization": f"Bearer {self.plan.api_key}"}
        try:
            async with websockets.connect(
                url, subprotocols=["graphql-transport-ws"], additional_headers=headers, max_queue=64
            ) as ws:
                await ws.send(json.dumps({"type": "connection_init"}))
                ack = json.loads(await asyncio.wait_for(ws.recv(), 30))
                if ack["type"] != "connection_ack":
                    raise RuntimeError(f"no connection_ack: {ack}")
                payload = {"query": LIVE, "variables": {"ids": [series]}}
                await ws.send(json.dumps({"id": str(n), "type": "subscribe", "payload": payload}))
                while not self.stop.is_set():
                    try:
                        message = json.loads(await asyncio.wait_for(ws.recv(), 1))
                    except TimeoutError:
                        continue
                    if message["type"] == "next" and "errors" not in message["payload"]:
                        self.window.live_messages += 1
                    elif message["type"] != "ping":
                        self.window.failed("live", json.dumps(message))
        except (OSError, RuntimeError, websockets.WebSocketException) as exc:
            self.window.failed("live", repr(exc))

    async def _pages(self) -> None:
        """A signed-in browser's page loads, one page every ``page_every_s``."""
        headers = {"cookie": self.plan.session_cookie}
        async with httpx.AsyncClient(base_url=self.plan.gateway, headers=headers, timeout=30) as http:
            for path in itertools.cycle(self.plan.pages):
                if self.stop.is_set():
                    return
                started = time.perf_counter()
                try:
                    response = await http.get(path)
                except httpx.HTTPError as exc:
                    self.window.failed("page", repr(exc))
                else:
                    if response.status_code == 200:
                        self.window.ok("page", time.perf_counter() - started)
                    else:
                        self.window.failed("page", f"{path}: {response.status_code}")
                await asyncio.sleep(self.plan.page_every_s)


def main() -> None:
    with open(sys.argv[1]) as f:
        plan = Plan(**json.load(f))
    print(json.dumps(asyncio.run(Load(plan).run())), flush=True)


if __name__ == "__main__":
    main()
