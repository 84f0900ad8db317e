"""The noisy tenant of RELIABILITY I7, as a process of its own: ``AT_ONCE`` threads each send analytics'
heaviest allowed aggregate again and again until stdin closes, then it prints how many were answered
and their median seconds. Its own process, so receiving 2 MB answers does not slow the test's loop,
which measures the quiet tenant.

    python -m tests.isolation.heavy_reader TARGET TOKEN SERIES_ID START_NS END_NS
"""

from __future__ import annotations

import statistics
import sys
import threading
import time

import grpc

from services.runtime.tokens import METADATA_KEY
from sfcloud.v1 import common_pb2, query_pb2

AT_ONCE = 4
AGGREGATE = "/sfcloud.v1.QueryService/Aggregate"


def main(target: str, token: str, series_id: str, start_ns: str, end_ns: str) -> None:
    heaviest = query_pb2.AggregateRequest(
        series_id=series_id,
        range=common_pb2.TimeRange(start_ns=int(start_ns), end_ns=int(end_ns)),
        bucket_ns=60 * 10**9,  # 20,160 buckets in two weeks, a message each
        with_stddev=True,  # no block statistics serve it: every block is decoded
    )
    stop = threading.Event()
    took: list[float] = []
    with grpc.insecure_channel(target) as channel:
        aggregate = channel.unary_unary(
            AGGREGATE,
            request_serializer=query_pb2.AggregateRequest.SerializeToString,
            response_deserializer=len,
        )

        def loop() -> None:
            while not stop.is_set():
                started = time.perf_counter()
                aggregate(heaviest, metadata=((METADATA_KEY, token),), timeout=30)
                took.append(time.perf_counter() - started)

        threads = [threading.Thread(target=loop) for _ in range(AT_ONCE)]
        for thread in threads:
            thread.start()
        print("started", flush=True)
        sys.stdin.read()
        stop.set()
        for thread in threads:
            thread.join()
    print(len(took), statistics.median(took), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
