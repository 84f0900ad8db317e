"""OpenTelemetry tracing for one process.

Set up once per process by its entry point (`sf serve`), never by library code:
the instrumentations (gRPC client and server, psycopg, ASGI) read the global
tracer provider. W3C trace context crosses process boundaries in gRPC
metadata and HTTP headers, so one trace covers gateway → service → database.
"""

from __future__ import annotations

import logging
import threading
import time

from opentelemetry import trace
from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
    SpanProcessor,
)

from services.runtime.metrics import SPANS_DROPPED, configure_metrics, waited_at_most

EXPORTERS = ("none", "console", "otlp")
SHUTDOWN_WAIT_S = 5.0
QUEUE_SIZE = 2_048  # RELIABILITY D7: the batch processor's bound (the SDK's default)
# Spans an export takes at most (the SDK's default is 512). Encoding spans for OTLP is pure Python, about
# 45 µs a span: 512 kept a thread busy 20-25 ms, and the event loop, which gives the GIL up at every system
# call and may wait a 5 ms switch interval to get it back, stalled `sf serve ingest`'s calls 60-110 ms at
# each export (RELIABILITY D7).
EXPORT_BATCH = 64
REPORT_EVERY_S = 60.0

logger = logging.getLogger(__name__)


class _Taken(SpanExporter):
    """The exporter, counting the spans the batch processor hands it: what has left its queue.

    After each export it sleeps as long as the export ran on the CPU, so that the exporter holds the GIL at
    most half the time: once a collector is back, the batch processor exports the 2,048 spans queued in the
    outage back to back, which stalled ingest's calls 100-240 ms (RELIABILITY D7)."""

    def __init__(self, inner: SpanExporter) -> None:
        self._inner, self.spans = inner, 0

    def export(self, spans):
        self.spans += len(spans)  # never called concurrently (the OTel specification's SpanExporter)
        cpu = time.thread_time()
        try:
            return self._inner.export(spans)
        finally:
            time.sleep(time.thread_time() - cpu)

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self._inner.force_flush(timeout_millis)


class SpanExport(SpanProcessor):
    """The SDK's BatchSpanProcessor with what sfcloud needs when the collector is down: dropped spans
    counted (``dropped``) and logged at most once per ``report_every_s``, and stopping within ``shutdown_s``.

    Why a gate in front rather than the SDK's own count: the processor counts its drops only through the
    metrics API, switched on only by an environment variable (OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED), and
    the SDK's MeterProvider then adds about 9 µs per dropped span to the request (59 µs a two-span request
    against 41 µs, measured). Here spans handed to the processor minus spans it handed the exporter bound
    what its queue holds, so a span that would not fit is dropped here, counted exactly, and the queue never
    overflows. That drops the newest span where the SDK drops the oldest: through an outage the queue keeps
    the spans of its start.
    Stopping waits at most ``shutdown_s``: the processor waits 30 s for its last export, which would
    outlast a pod's grace period; what is still queued then is lost, as with the collector down anyway."""

    def __init__(
        self,
        exporter: SpanExporter,
        report_every_s: float = REPORT_EVERY_S,
        shutdown_s: float = SHUTDOWN_WAIT_S,
    ):
        self._taken = _Taken(exporter)
        self._inner = BatchSpanProcessor(
            self._taken, max_queue_size=QUEUE_SIZE, max_export_batch_size=EXPORT_BATCH
        )
        self._handed, self._dropped, self._reported, self._shutdown_s = 0, 0, 0, shutdown_s
        self._lock, self._stopping = threading.Lock(), threading.Event()
        self._reporter = threading.Thread(
            target=self._report_every, args=(report_every_s,), name="otel-drops", daemon=True
        )
        self._reporter.start()

    @property
    def dropped(self) -> int:
        """Spans dropped since the process started because the queue was full."""
        return self._dropped

    def on_start(self, span, parent_context=None) -> None:
        self._inner.on_start(span, parent_context=parent_context)

    def on_end(self, span) -> None:
        if self._stopping.is_set() or not span.context.trace_flags.sampled:
            return  # the processor ignores unsampled spans, and stopped ones are not drops
        with self._lock:
            fits = self._handed - self._taken.spans < QUEUE_SIZE
            if fits:
                self._handed += 1
            else:
                self._dropped += 1
                SPANS_DROPPED.add()
        if fits:
            self._inner.on_end(span)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self._inner.force_flush(timeout_millis)

    def shutdown(self) -> None:
        self._stopping.set()
        self._reporter.join()
        waited_at_most(self._shutdown_s, self._inner.shutdown, "otel-shutdown")

    def _report_every(self, seconds: float) -> None:
        while not self._stopping.wait(seconds):
            self._report(seconds)
        self._report(seconds)

    def _report(self, seconds: float) -> None:
        dropped = self._dropped
        if dropped > self._reported:
            logger.warning(
                "%d spans dropped in the last %g s: the trace collector is not keeping up or unreachable",
                dropped - self._reported,
                seconds,
                extra={"dropped_spans": dropped - self._reported, "dropped_spans_total": dropped},
            )
            self._reported = dropped


def exporter_for(kind: str) -> SpanExporter | None:
    """The span exporter `SF_OTEL_EXPORTER` names; none by default."""
    if kind == "console":
        return ConsoleSpanExporter()
    if kind == "otlp":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()  # endpoint from the standard OTEL_EXPORTER_OTLP_* variables
    return None


def configure_tracing(service_name: str, processor: SpanProcessor | None = None) -> TracerProvider:
    """Install the process's tracer provider and the database instrumentation."""
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if processor is not None:
        provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    if not PsycopgInstrumentor().is_instrumented_by_opentelemetry:
        PsycopgInstrumentor().instrument(enable_commenter=False)
    return provider


def span_processor(kind: str) -> SpanProcessor | None:
    """What `SF_OTEL_EXPORTER` asks for, behind a batch processor: spans wait in a bounded queue (2,048)
    for a background thread to export them, so a slow or dead collector costs requests nothing; past the
    bound spans are dropped (RELIABILITY D7), not waited for, counted and logged once a minute, and
    stopping waits at most 5 s for it."""
    exporter = exporter_for(kind)
    if exporter is None:
        return None
    return SpanExport(exporter)


def configure_from_setting(service_name: str, exporter_kind: str) -> TracerProvider:
    """Traces and the process's counts (`services/runtime/metrics.py`), both where `SF_OTEL_EXPORTER` says."""
    configure_metrics(service_name, exporter_kind)
    return configure_tracing(service_name, span_processor(exporter_kind))
