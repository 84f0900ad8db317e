"""RELIABILITY D7: the OpenTelemetry collector down or blackholed costs requests nothing, its dropped spans are
counted and reported, and stopping takes at most 5 s.

Timing and memory come from two processes traced as `sf serve` traces (`tests/faults/span_load.py`), one
exporting to a working OTLP collector and one to a dead one, run side by side so both see the same machine.
A "request" is a server span and a database span inside it.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter

from services.runtime.telemetry import EXPORT_BATCH, QUEUE_SIZE, SHUTDOWN_WAIT_S, SpanExport, exporter_for
from sf.inprocess import free_port
from tests.faults.collector import serving
from tests.faults.span_load import request_time

REPO = Path(__file__).resolve().parents[2]
BATCH = EXPORT_BATCH  # the batch processor hands the exporter at most this many spans at a time
# A dead collector holds an export at least this long: the OTLP exporter retries for 10 s, backing off
# 1, 2 and 4 s (each 20 % shorter at worst) and giving up when the next backoff would pass its deadline.
EXPORT_HELD_S = 5.6
# Tracing's p99 on a shared 2-core machine is set by preemption and garbage collection, not by the spans:
# two processes exporting to the same working collector differed at p99 by 11 to 92 µs (2 to 28 %) in
# five runs of 3,000 to 10,000 requests each, so 1.1 times alone would fail a collector that costs nothing.
P99_ALLOWANCE_US = 100
REPORT_S = 0.5  # the drop report's interval in the test (a minute in a service)


@pytest.fixture
def collector():
    with serving() as running:
        yield running


@contextlib.contextmanager
def blackhole():
    """A collector address that accepts connections and never answers."""
    with socket.create_server(("127.0.0.1", 0)) as listening:  # the kernel accepts; nobody reads
        yield f"http://127.0.0.1:{listening.getsockname()[1]}"


@pytest.fixture(params=["blackholed", "refused"])
def dead_endpoint(request):
    """A blackholed collector address, or one where nothing listens."""
    if request.param == "refused":
        yield f"http://127.0.0.1:{free_port()}"
        return
    with blackhole() as endpoint:
        yield endpoint


class Handed(SpanExporter):
    """The OTLP exporter, noting the size of each batch the processor hands it."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner, self.batches, self.first = inner, [], threading.Event()

    def export(self, spans):
        self.batches.append(len(spans))
        self.first.set()
        return self.inner.export(spans)

    def shutdown(self) -> None:
        self.inner.shutdown()


def side_by_side(endpoints: dict[str, str], rps: int, seconds: float) -> dict[str, dict]:
    """Run `span_load` once per collector, at the same time; what each printed."""
    children = {
        name: subprocess.Popen(
            [sys.executable, "-m", "tests.faults.span_load", str(rps), str(seconds)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            env={
                **os.environ,
                "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
                "OTEL_EXPORTER_OTLP_INSECURE": "true",
            },
        )
        for name, endpoint in endpoints.items()
    }
    try:
        return {
            name: json.loads(child.communicate(timeout=seconds + 60)[0]) for name, child in children.items()
        }
    finally:
        for child in children.values():
            child.kill()  # if the test stops first (a timeout): done ones are left alone


def quantile(times: list[float], q: float) -> float:
    return sorted(times)[int(len(times) * q)]


def quantiles_us(runs: dict[str, dict], q: float) -> dict[str, float]:
    return {name: round(quantile(run["times"], q) * 1e6, 1) for name, run in runs.items()}


def most_dropped(ended: int, seconds: float) -> int:
    """With the collector dead from the start: all but the queue and the batches the exporter took, one at
    most every EXPORT_HELD_S."""
    return ended - QUEUE_SIZE - BATCH * (1 + int(seconds // EXPORT_HELD_S))


def rss_growth(samples: list[list[float]], warmup: float) -> float:
    """The most RSS rose above what it was at the end of the warm-up."""
    after = [rss for at, rss in samples if at >= warmup]
    return max(after) - after[0]


def rss_every(samples: list[list[float]], seconds: float) -> list[float]:
    """RSS (MB) at the start of each stretch of ``seconds``: whether growth levels off or goes on."""
    return [round(rss / 1e6, 1) for at, rss in samples if at % seconds < 1]


def test_spans_past_the_queue_are_counted_and_reported_once_per_interval(dead_endpoint, monkeypatch, caplog):
    """RELIABILITY D7: dropped spans counted exactly and logged at most once per interval. With the collector
    dead the exporter holds its first batch (EXPORT_BATCH spans, taken once that many are queued) for ≥ 5.6 s;
    while it does, 2,048 more fill the queue and every span after them is dropped: dropped = ended - BATCH -
    2,048."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", dead_endpoint)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_INSECURE", "true")
    caplog.set_level(logging.WARNING, logger="services.runtime.telemetry")
    exporter = Handed(exporter_for("otlp"))
    provider, processor = (
        TracerProvider(shutdown_on_exit=False),
        SpanExport(exporter, report_every_s=REPORT_S),
    )
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("d7")
    for _ in range(BATCH // 2):
        request_time(tracer)
    assert exporter.first.wait(2.0) and exporter.batches == [BATCH]
    requests, started = 3_000, time.perf_counter()
    for n in range(requests):  # over 2 s, within the export the collector holds
        time.sleep(max(0.0, started + n * 2.0 / requests - time.perf_counter()))
        request_time(tracer)
    time.sleep(REPORT_S + 0.2)  # for the last report
    assert exporter.batches == [BATCH]  # still held: nothing else left the queue
    assert processor.dropped == 2 * (BATCH // 2 + requests) - BATCH - QUEUE_SIZE
    reports = [r for r in caplog.records if r.name == "services.runtime.telemetry"]
    gaps = [later.created - earlier.created for earlier, later in itertools.pairwise(reports)]
    print(
        f"collector {dead_endpoint}: {processor.dropped} dropped, reported as",
        [r.dropped_spans for r in reports],
        "gaps s",
        gaps,
    )
    assert sum(r.dropped_spans for r in reports) == processor.dropped
    assert 2 <= len(reports) <= 4 and all(gap >= REPORT_S - 0.05 for gap in gaps)  # drops went on for ~1.3 s
    assert (
        reports[0]
        .getMessage()
        .endswith("spans dropped in the last 0.5 s: the trace collector is not keeping up or unreachable")
    )
    started = time.perf_counter()
    provider.shutdown()
    assert time.perf_counter() - started <= SHUTDOWN_WAIT_S + 0.5
    assert len([r for r in caplog.records if r.name == "services.runtime.telemetry"]) == len(reports)


def test_a_dead_collector_neither_slows_requests_nor_holds_up_shutdown(collector, dead_endpoint):
    """RELIABILITY D7: collector down or blackholed: a request's tracing cost within 1.1 times a working
    collector's at p50 (+10 µs) and p99 (+100 µs: P99_ALLOWANCE_US says why), 10,000 requests each at
    1,000/s; spans past the 2,048 queued dropped rather than waited for (no request waits out an export:
    the exporter's deadline is 10 s), shutdown ≤ 5 s."""
    sink, alive_endpoint = collector
    seconds = 10.0
    runs = side_by_side({"alive": alive_endpoint, "dead": dead_endpoint}, 1_000, seconds)
    p50, p99 = quantiles_us(runs, 0.5), quantiles_us(runs, 0.99)
    dead = runs["dead"]
    print(
        f"collector {dead_endpoint}: p50 µs {p50}, p99 µs {p99}, slowest ms",
        {n: round(max(r["times"]) * 1e3, 1) for n, r in runs.items()},
    )
    print(
        f"dropped {dead['dropped']} of {dead['ended']}, shutdown s",
        {n: round(r["shutdown_s"], 2) for n, r in runs.items()},
    )
    assert (
        sink.spans == runs["alive"]["ended"] and runs["alive"]["dropped"] == 0
    )  # the working side exported every span
    assert most_dropped(dead["ended"], seconds) <= dead["dropped"] <= dead["ended"] - QUEUE_SIZE - BATCH
    assert p50["dead"] <= 1.1 * p50["alive"] + 10 and p99["dead"] <= 1.1 * p99["alive"] + P99_ALLOWANCE_US
    assert max(dead["times"]) < 10.0 and dead["shutdown_s"] <= SHUTDOWN_WAIT_S + 0.5


@pytest.mark.parametrize(
    ("seconds", "warmup"),
    [
        pytest.param(30, 15, id="30s"),
        pytest.param(600, 60, marks=[pytest.mark.long, pytest.mark.timeout(900)], id="10min"),
    ],
)
def test_a_blackholed_collector_under_steady_load(collector, seconds, warmup):
    """RELIABILITY D7: collector blackholed for the whole run at 100 requests/s (200 spans/s), beside a process
    exporting to a working one: the dead side's RSS grows < 50 MB after the warm-up, its p99 within 1.1 times
    (+100 µs) the working side's, its drops counted. `make test` runs 30 s (the queue is full after 12.8 s),
    `make test-long` 10 minutes."""
    sink, alive_endpoint = collector
    with blackhole() as dead_endpoint:
        runs = side_by_side({"alive": alive_endpoint, "dead": dead_endpoint}, 100, seconds)
    growth = {name: round(rss_growth(run["rss"], warmup) / 1e6, 2) for name, run in runs.items()}
    p50, p99 = quantiles_us(runs, 0.5), quantiles_us(runs, 0.99)
    dead = runs["dead"]
    print(
        f"{seconds} s at 100 requests/s: RSS growth MB after {warmup} s {growth}, p50 µs {p50}, p99 µs {p99}"
    )
    print(f"dropped {dead['dropped']} of {dead['ended']} spans, shutdown {dead['shutdown_s']:.2f} s")
    print(
        "RSS MB every tenth of the run:",
        {name: rss_every(run["rss"], seconds / 10) for name, run in runs.items()},
    )
    assert sink.spans == runs["alive"]["ended"]
    assert most_dropped(dead["ended"], seconds) <= dead["dropped"] <= dead["ended"] - QUEUE_SIZE - BATCH
    assert growth["dead"] < 50 and p99["dead"] <= 1.1 * p99["alive"] + P99_ALLOWANCE_US
