"""The counts a process exports as OpenTelemetry metrics (`services/runtime/metrics.py`) reach a real OTLP
collector: `sf serve ingest` sends its traces to a port nothing listens on and its metrics to a working
collector, as an operator's would while the trace backend is down, so the spans it drops are seen as a
metric as well as in its log (RELIABILITY D7), beside the calls it answered.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import grpc
import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from services.runtime.metrics import COUNTS, SHUTDOWN_WAIT_S, SPANS_DROPPED, meter_provider
from sf.inprocess import free_port
from sf.seeding import create_tenant
from sfcloud.v1 import ingest_pb2_grpc
from tests.faults.collector import serving
from tests.faults.processes import ServiceProcess, ingest_env
from tests.faults.test_blackhole_under_load import POINTS, send_batch
from tests.faults.test_collector_outage_serve import dropped_reports
from tests.gateway.test_live_relay import until

pytestmark = pytest.mark.slow

EXPORT_MS = 200  # OTEL_METRIC_EXPORT_INTERVAL in the test (60 s by default)
BATCHES, AT_ONCE = 1_500, 16  # several spans each: well past the 2,048 the queue holds
EXITING = """
from services.runtime.metrics import SPANS_DROPPED, configure_metrics
configure_metrics("exiting", "otlp")
SPANS_DROPPED.add(1)
"""


def test_each_count_is_read_as_a_counter_of_its_own():
    """Each count is read, with its unit and description, as a monotonic cumulative sum of what was added."""
    reader = InMemoryMetricReader()
    provider = meter_provider("sfcloud-tests", reader)
    try:
        for n, count in enumerate(COUNTS, start=1):
            count.add(n)
        (resource,) = reader.get_metrics_data().resource_metrics
        (scope,) = resource.scope_metrics
        read = {metric.name: metric for metric in scope.metrics}
        assert resource.resource.attributes["service.name"] == "sfcloud-tests"
        assert sorted(read) == sorted(count.name for count in COUNTS)
        for count in COUNTS:
            metric = read[count.name]
            assert (metric.unit, metric.description) == (count.unit, count.description)
            assert metric.data.is_monotonic
            assert [point.value for point in metric.data.data_points] == [count.value]
    finally:
        provider.shutdown()


def test_a_dead_collector_holds_exit_at_most_the_wait_for_the_last_export():
    """The last export on the way out is given up after SHUTDOWN_WAIT_S (the SDK's own wait took 7-10 s)."""
    env = os.environ | {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{free_port()}"}  # nothing listens
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", EXITING], env=env, check=True, capture_output=True, timeout=60)
    assert time.monotonic() - started < SHUTDOWN_WAIT_S + 2  # + starting Python and the SDK


async def send(target: str, credential: str, series: str) -> None:
    """BATCHES batches, AT_ONCE on the wire at a time, all acknowledged."""
    base_ns, numbers = time.time_ns() - 3_600 * 10**9, iter(range(BATCHES))
    async with grpc.aio.insecure_channel(target) as channel:
        stub = ingest_pb2_grpc.IngestServiceStub(channel)

        async def sender() -> None:
            for n in numbers:
                assert (await send_batch(stub, credential, series, n, base_ns)).ok

        await asyncio.gather(*(sender() for _ in range(AT_ONCE)))


async def test_ingest_exports_its_counts_with_the_spans_it_dropped(stack, signer, tmp_path):
    """Every count exported from the start, at 0; spans dropped while the trace collector is unreachable
    counted in the metric exactly as the log reports them, the last export made on the way out; each Ingest
    call it answered in the call-duration histogram, by method and status, and each batch and its points."""
    with serving() as (collector, endpoint):
        env = ingest_env(stack) | {
            "SF_OTEL_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"http://127.0.0.1:{free_port()}",  # nothing listens
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": endpoint,
            "OTEL_METRIC_EXPORT_INTERVAL": str(EXPORT_MS),
        }
        sums = collector.metrics.sums
        async with ServiceProcess("ingest", env, free_port(), tmp_path) as ingest:
            await until(lambda: all(("ingest", count.name) in sums for count in COUNTS))
            assert {count.name: sums[("ingest", count.name)] for count in COUNTS} == dict.fromkeys(
                (count.name for count in COUNTS), 0
            )
            tenant = await create_tenant(stack.targets["tenancy"], signer, "Metrics", series_count=1)
            await send(ingest.target, tenant.credential, tenant.series_ids[0])
            await until(lambda: sums[("ingest", SPANS_DROPPED.name)] > 0)
            assert await ingest.terminate() == 0
        logged = sum(report["dropped_spans"] for report in dropped_reports(ingest))
        assert sums[("ingest", SPANS_DROPPED.name)] == logged > 0, sums
        ingested = frozenset(
            {
                ("rpc.system.name", "grpc"),
                ("rpc.method", "sfcloud.v1.IngestService/Ingest"),
                ("rpc.response.status_code", "OK"),
            }
        )
        calls = collector.metrics.histograms[("ingest", "rpc.server.call.duration", ingested)]
        assert calls == BATCHES  # each batch its own call
        live = frozenset({("sfcloud.lane", "live")})
        assert collector.metrics.histograms[("ingest", "sfcloud.ingest.batch.duration", live)] == BATCHES
        assert sums[("ingest", "sfcloud.ingest.points.stored")] == BATCHES * POINTS
