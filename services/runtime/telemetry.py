"""OpenTelemetry tracing for one process.

Set up once per process by its entry point (`sf serve`), never by library code:
the instrumentations (gRPC client and server, psycopg, ASGI) read the global
tracer provider. W3C trace context crosses process boundaries in gRPC
metadata and HTTP headers, so one trace covers gateway → service → database.
"""

from __future__ import annotations

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


def configure_from_setting(service_name: str, exporter_kind: str) -> TracerProvider:
    exporter = exporter_for(exporter_kind)
    return configure_tracing(service_name, BatchSpanProcessor(exporter) if exporter else None)
