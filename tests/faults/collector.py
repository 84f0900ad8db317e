"""A real OTLP gRPC collector that counts the spans it receives and keeps the counters' latest values, for
RELIABILITY D7's tests.

``serving()`` runs one in the test's own process (the span-load processes export to it, and the test has
nothing else to do); ``CollectorProcess`` runs one in a process of its own, where a test that times calls
from its event loop should not also decode every span it is sent under the same GIL.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
from concurrent import futures

import grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc


def _attributes(key_values) -> dict[str, str]:
    return {a.key: a.value.string_value for a in key_values}


class Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
    """The OTLP metrics service, keeping the latest value of each counter (a sum) by service name and metric
    name, and of each histogram's count by service name, metric name and the point's attributes."""

    def __init__(self) -> None:
        self.sums: dict[tuple[str, str], int] = {}
        self.histograms: dict[tuple[str, str, frozenset[tuple[str, str]]], int] = {}

    def Export(self, request, context):
        for resource in request.resource_metrics:
            service = _attributes(resource.resource.attributes).get("service.name", "")
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    for point in metric.sum.data_points:
                        self.sums[(service, metric.name)] = point.as_int
                    for point in metric.histogram.data_points:
                        key = (service, metric.name, frozenset(_attributes(point.attributes).items()))
                        self.histograms[key] = point.count
        return metrics_service_pb2.ExportMetricsServiceResponse()


class Collector(trace_service_pb2_grpc.TraceServiceServicer):
    """An OTLP collector that counts the spans it receives (``spans``) and keeps the counters' (``metrics``)."""

    def __init__(self) -> None:
        self.spans, self._lock = 0, threading.Lock()
        self.metrics = Metrics()

    def Export(self, request, context):
        received = sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)
        with self._lock:
            self.spans += received
        self.received(received)
        return trace_service_pb2.ExportTraceServiceResponse()

    def received(self, spans: int) -> None:
        """Called after each export with its spans."""


@contextlib.contextmanager
def serving(collector: Collector | None = None):
    """``(collector, endpoint)``: a collector listening on 127.0.0.1 in this process."""
    server, collector = grpc.server(futures.ThreadPoolExecutor(2)), collector or Collector()
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(collector, server)
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(collector.metrics, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield collector, f"http://127.0.0.1:{port}"
    finally:
        server.stop(0)


class _Shared(Collector):
    """Counting into a value the parent reads too."""

    def __init__(self, total) -> None:
        super().__init__()
        self._total = total

    def received(self, spans: int) -> None:
        with self._total.get_lock():
            self._total.value += spans


def _serve(total, ports) -> None:
    with serving(_Shared(total)) as (_, endpoint):
        ports.put(int(endpoint.rsplit(":", 1)[1]))
        threading.Event().wait()  # until terminated


class CollectorProcess:
    """A collector in a process of its own on 127.0.0.1:``port``; ``spans`` is what it has received."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")  # not a fork of a process with gRPC's threads
        self._total, ports = context.Value("q", 0), context.Queue()
        self._process = context.Process(
            target=_serve, args=(self._total, ports), name="otlp-collector", daemon=True
        )
        self._process.start()
        self.port: int = ports.get(timeout=30)

    @property
    def spans(self) -> int:
        return self._total.value

    @property
    def pid(self) -> int:
        return self._process.pid

    def close(self) -> None:
        self._process.terminate()
        self._process.join(5)

    def __enter__(self) -> CollectorProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
