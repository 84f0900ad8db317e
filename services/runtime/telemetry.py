"""OpenTelemetry tracing for one process.

Set up once per process by its entry point (`sf serve`), never by library code:
the instrumentations (gRPC client and server, psycopg, ASGI) read the global
tracer provider. W3C trace context crosses process boundaries in gRPC
metadata and HTTP headers, so one trace covers gateway → service → database.
"""

from __future__ import annotations

import logging
import threading

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

EXPORTERS = ("none", "console", "otlp")
SHUTDOWN_WAIT_S = 5.0
# The SDK logs a warning for every span it drops while its queue is full: a log record per span, on the
# request's thread, just when the collector is down. Its export failures (errors) still show.
_SDK_QUEUE_LOGGER = "opentelemetry.sdk._shared_internal"


class ShutdownWithin(SpanProcessor):
    """A span processor whose shutdown waits at most ``seconds``: the batch processor's waits 30 s for its
    last export, so a process stopping while the collector is dead would outlast its pod's grace period.
    What is still queued then is lost, as it would be with the collector down anyway."""

    def __init__(self, inner: SpanProcessor, seconds: float = SHUTDOWN_WAIT_S) -> None:
        self._inner, self._seconds = inner, seconds

    def on_start(self, span, parent_context=None) -> None:
        self._inner.on_start(span, parent_context=parent_context)

    def on_end(self, span) -> None:
        self._inner.on_end(span)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self._inner.force_flush(timeout_millis)

    def shutdown(self) -> None:
        stopping = threading.Thread(target=self._inner.shutdown, name="otel-shutdown", daemon=True)
        stopping.start()
        stopping.join(self._seconds)


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
    bound the oldest are dropped (RELIABILITY D7), not waited for, and stopping waits at most 5 s for it."""
    exporter = exporter_for(kind)
    if exporter is None:
        return None
    logging.getLogger(_SDK_QUEUE_LOGGER).setLevel(logging.ERROR)
    return ShutdownWithin(BatchSpanProcessor(exporter))


def configure_from_setting(service_name: str, exporter_kind: str) -> TracerProvider:
    return configure_tracing(service_name, span_processor(exporter_kind))
