"""Every GraphQL operation is one span, named after the operation: `query Dashboard`, or the
operation type alone when the operation is anonymous (`query`, `mutation`, `subscription`).

The span is current while the operation runs, so the gRPC client spans of its resolvers and
DataLoaders (`opentelemetry-instrumentation-grpc`) are its children, and it is a child of the
gateway's HTTP span. Strawberry's own `OpenTelemetryExtension` names spans `GraphQL Query: name`,
keeps the operation span out of the current context and adds a span per resolver (hundreds for a
dashboard), hence this one.
"""

from __future__ import annotations

from collections.abc import Iterator

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from strawberry.extensions import SchemaExtension


def operation_span_name(operation_type: str, operation_name: str | None) -> str:
    return f"{operation_type} {operation_name}" if operation_name else operation_type


class OperationSpan(SchemaExtension):
    def __init__(self, tracer: Tracer) -> None:
        self._tracer = tracer

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        with self._tracer.start_as_current_span("graphql", kind=SpanKind.INTERNAL) as span:
            yield
            try:
                kind = context.operation_type.value
            except RuntimeError:  # the document did not parse, or names no operation it holds
                kind = "graphql"
            span.update_name(operation_span_name(kind, context.operation_name))
            span.set_attribute("graphql.operation.type", kind)
            if context.operation_name:
                span.set_attribute("graphql.operation.name", context.operation_name)
            if context.pre_execution_errors:
                span.set_status(Status(StatusCode.ERROR, "the operation had errors"))


def default_tracer() -> Tracer:
    return trace.get_tracer("gateway.graphql")
