"""A load generator in its own process, so the server it measures keeps the other core to itself.

    python -m sf.bench.load URL --body JSON [--header NAME:VALUE] --requests N | --seconds S [--concurrency C]

POSTs the body to the URL from C concurrent clients (one HTTP connection each), either N requests in
all or for S seconds, and prints one JSON line: requests answered 200, errors, seconds, requests/s,
and latency percentiles in milliseconds. Used by `sf/bench/graphql.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import httpx
import numpy as np


async def _client(
    url: str, body: bytes, headers: dict, another, latencies: list[float], failed: list[int]
) -> None:
    async with httpx.AsyncClient(headers=headers, timeout=30) as http:
        while another():
            started = time.perf_counter()
            response = await http.post(url, content=body)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200 or b'"errors"' in response.content:
                failed.append(response.status_code)


async def run(url: str, body: bytes, headers: dict, requests: int, seconds: float, concurrency: int) -> dict:
    """``requests`` requests in all (when > 0), else as many as ``seconds`` allow."""
    latencies: list[float] = []
    failed: list[int] = []
    issued = 0
    started = time.perf_counter()

    def another() -> bool:
        nonlocal issued
        issued += 1
        return issued <= requests if requests else time.perf_counter() - started < seconds

    await asyncio.gather(
        *(_client(url, body, headers, another, latencies, failed) for _ in range(concurrency))
    )
    elapsed = time.perf_counter() - started
    ms = np.array(latencies) * 1000
    return {
        "ok": len(latencies) - len(failed),
        "errors": len(failed),
        "seconds": elapsed,
        "rps": (len(latencies) - len(failed)) / elapsed,
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--body", required=True)
    parser.add_argument("--header", action="append", default=[], metavar="NAME:VALUE")
    parser.add_argument("--requests", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args()
    headers = dict(h.split(":", 1) for h in args.header) | {"content-type": "application/json"}
    result = asyncio.run(
        run(args.url, args.body.encode(), headers, args.requests, args.seconds, args.concurrency)
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
