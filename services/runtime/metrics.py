"""What a process exports as OpenTelemetry metrics, beside its traces (`SF_OTEL_EXPORTER`).

The counts an operator alerts on are plain integers the counting code adds to, and the SDK reads each
through an observable counter only when its reader exports (every `OTEL_METRIC_EXPORT_INTERVAL` ms, 60 s
by default): nothing of the SDK runs where they are counted, in paths such as a dropped span's, where its
synchronous counters cost about 9 µs an add (RELIABILITY D7). They are here, in one list, so that every
process exports all of them from its start, at 0 until something happens, and an operator can alert on
them without first seeing them appear.

Each gRPC call's duration and status go into a histogram (`rpc.server.call.duration`, OpenTelemetry's
semantic conventions), recorded once a call ends: its rate, errors and latency; ingest records each batch
it acknowledges too, as a device's call is a stream of many. The gateway's HTTP requests are recorded by
OpenTelemetry's ASGI middleware (`http.server.duration`). Each of these costs about 8 µs a record while
metrics are exported, and 0.3 µs otherwise.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable, Iterable

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.semconv._incubating.attributes.rpc_attributes import (
    RPC_METHOD,
    RPC_RESPONSE_STATUS_CODE,
    RPC_SYSTEM_NAME,
)
from opentelemetry.semconv._incubating.metrics.rpc_metrics import RPC_SERVER_CALL_DURATION

SHUTDOWN_WAIT_S = 2.0  # for the last export on the way out (the SDK held exit 7-10 s with the collector dead)


def waited_at_most(seconds: float, function: Callable[[], object], name: str) -> None:
    """Run ``function`` in a daemon thread and wait for it at most ``seconds``: the SDK's shutdowns wait for a
    last export, as long as the exporter's retries take, and a process on its way out gives up on it."""
    stopping = threading.Thread(target=function, name=name, daemon=True)
    stopping.start()
    stopping.join(seconds)


class Count:
    """A monotonic count of this process's events, exported as the observable counter ``name``."""

    def __init__(self, name: str, unit: str, description: str) -> None:
        self.name, self.unit, self.description = name, unit, description
        self._value, self._lock = 0, threading.Lock()

    @property
    def value(self) -> int:
        return self._value

    def add(self, amount: int = 1) -> None:
        with self._lock:  # spans end on any thread
            self._value += amount

    def observe(self, options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(self._value)]


SPANS_DROPPED = Count(
    "sfcloud.spans.dropped",
    "{span}",
    "Spans dropped because the export queue was full: the trace collector is not keeping up or unreachable",
)
LIMITS_HELD_LOCALLY = Count(
    "sfcloud.limits.held_locally",
    "{check}",
    "Rate and quota checks this process held in its own memory because Redis did not answer"
    " (with n processes a caller may get n times the rate meanwhile)",
)
REDIS_BREAKER_OPENED = Count(
    "sfcloud.redis.breaker.opened",
    "{outage}",
    "Times Redis stopped answering this process: its commands then fail at once, one a second probing,"
    " until Redis answers",
)
COUNTS = (SPANS_DROPPED, LIMITS_HELD_LOCALLY, REDIS_BREAKER_OPENED)

# Seconds: the boundaries OpenTelemetry's semantic conventions advise for RPC and HTTP durations (the SDK's
# own defaults are for milliseconds and would put every call in the first bucket).
DURATION_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
# Through the global API: no-ops until `configure_metrics` installs a provider, then recorded by it.
_meter = metrics.get_meter("sfcloud")
_CALL_DURATION = _meter.create_histogram(
    RPC_SERVER_CALL_DURATION,
    unit="s",
    description="How long each gRPC call this service answered took, by method and status",
    explicit_bucket_boundaries_advisory=DURATION_BUCKETS_S,
)
_BATCH_DURATION = _meter.create_histogram(
    "sfcloud.ingest.batch.duration",
    unit="s",
    description="How long each acknowledged batch took from its arrival to its acknowledgement, by lane"
    " (a device's Ingest call is a stream carrying many)",
    explicit_bucket_boundaries_advisory=DURATION_BUCKETS_S,
)
_POINTS_STORED = _meter.create_counter(
    "sfcloud.ingest.points.stored",
    unit="{point}",
    description="Points stored, by lane (duplicates not counted)",
)


def record_batch(lane: str, seconds: float, stored: int) -> None:
    """One acknowledged batch of ``lane`` ("live" or "backfill"): ``stored`` of its points were new."""
    attributes = {"sfcloud.lane": lane}
    _BATCH_DURATION.record(seconds, attributes)
    _POINTS_STORED.add(stored, attributes)


def record_call(method: str, status: str, seconds: float) -> None:
    """One ended gRPC call: ``method`` as the wire names it ("/package.Service/Method"), ``status`` its
    status code's name ("OK", "INVALID_ARGUMENT", ...)."""
    _CALL_DURATION.record(
        seconds, {RPC_SYSTEM_NAME: "grpc", RPC_METHOD: method.lstrip("/"), RPC_RESPONSE_STATUS_CODE: status}
    )


def metric_reader(kind: str) -> MetricReader | None:
    """The periodic reader `SF_OTEL_EXPORTER` names; none by default."""
    if kind == "console":
        return PeriodicExportingMetricReader(ConsoleMetricExporter())
    if kind == "otlp":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

        # the endpoint from the standard OTEL_EXPORTER_OTLP_* variables
        return PeriodicExportingMetricReader(OTLPMetricExporter())
    return None


def meter_provider(service_name: str, reader: MetricReader) -> MeterProvider:
    """A provider whose reader sees every count of ``COUNTS`` (its shutdown is the caller's)."""
    resource = Resource.create({"service.name": service_name})
    provider = MeterProvider(resource=resource, metric_readers=[reader], shutdown_on_exit=False)
    meter = provider.get_meter("sfcloud")
    for count in COUNTS:
        meter.create_observable_counter(
            count.name, callbacks=[count.observe], unit=count.unit, description=count.description
        )
    return provider


def configure_metrics(service_name: str, exporter_kind: str) -> MeterProvider | None:
    """Install the process's meter provider, if `SF_OTEL_EXPORTER` exports anything; it exports once more when
    the process exits, waited for at most SHUTDOWN_WAIT_S."""
    reader = metric_reader(exporter_kind)
    if reader is None:
        return None
    provider = meter_provider(service_name, reader)
    metrics.set_meter_provider(provider)
    atexit.register(waited_at_most, SHUTDOWN_WAIT_S, provider.shutdown, "otel-metrics-shutdown")
    return provider
