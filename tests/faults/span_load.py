"""A process ending the spans of paced "requests" (a server span and a database span inside it), traced as
`sf serve` traces (`span_processor("otlp")`, few malloc arenas, startup objects frozen), for RELIABILITY D7.

One process per collector, run side by side, rather than two tracer providers in one process: there the
working side's spans, freed in bulk once exported, move the garbage collector's count, and the collections
fell mostly on the dead side's requests (in one run 82 % of the young collections and all 4 full ones,
33 to 99 ms each: the likeliest cause of the stalls RELIABILITY D7 had not explained).

`python -m tests.faults.span_load RPS SECONDS` with OTEL_EXPORTER_OTLP_ENDPOINT set prints one JSON object:
each request's time (s), the RSS sampled once a second ([s since start, bytes]), the spans dropped and ended,
and how long stopping took (s).
"""

from __future__ import annotations

import json
import sys
import time

import psutil

from services.runtime.memory import freeze_startup_objects, limit_malloc_arenas
from services.runtime.telemetry import configure_tracing, span_processor


def request_time(tracer) -> float:
    started = time.perf_counter()
    with tracer.start_as_current_span("request"), tracer.start_as_current_span("SELECT"):
        ...  # the spans themselves are what is timed
    return time.perf_counter() - started


def run(rps: float, seconds: float) -> dict:
    limit_malloc_arenas()
    processor = span_processor("otlp")
    provider = configure_tracing("d7-load", processor)
    tracer, me = provider.get_tracer("d7"), psutil.Process()
    freeze_startup_objects()
    times, rss, every = [], [], max(1, round(rps))
    started = time.perf_counter()
    for n in range(round(rps * seconds)):
        time.sleep(max(0.0, started + n / rps - time.perf_counter()))  # paced as requests come, not a burst
        times.append(request_time(tracer))
        if n % every == 0:
            rss.append([time.perf_counter() - started, me.memory_info().rss])
    stopping = time.perf_counter()
    provider.shutdown()
    return {
        "times": times,
        "rss": rss,
        "dropped": processor.dropped,
        "ended": 2 * len(times),
        "shutdown_s": time.perf_counter() - stopping,
    }


if __name__ == "__main__":
    print(json.dumps(run(float(sys.argv[1]), float(sys.argv[2]))))
