"""GraphQL figures: a dashboard query's p99 and a small query's requests/s, each beside a bare Starlette
JSON endpoint served the same way (uvicorn, same settings, in the same process and event loop as the
gateway and the in-process services).

The load comes from another process (`sf/bench/load.py`), so the client's work does not slow the server
it measures. The dashboard is the plant's machines → their series → each series' latest value, 200
series on 10 machines (`graphql.dashboard_p99_ms`, target < 50 ms), asked one at a time; the small query
is `{ me { kind } }` from 16 concurrent clients for 4 s on the one gateway worker (`graphql.small_rps`,
target ≥ 0.4 of the bare endpoint's requests/s). Both with an API key of an enterprise tenant, as
developers call, on a second gateway whose catalog lifts that plan's per-key rate limit.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import secrets
import sys
import tempfile
from pathlib import Path

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.app import server_config, uvicorn_config
from services.runtime.tokens import TokenSigner
from services.tenancy.catalog import catalog_with_quotas
from sf.bench.databases import fresh_databases
from sf.bench.figures import Figure
from sf.inprocess import InProcessStack, QuietServer, free_port
from sf.seeding import create_api_key, create_tenant, one_value_each, send_batches

DASHBOARD = "query Dashboard { machines { name line site series { name unit latest { value timestamp } } } }"
SMALL = "{ me { kind } }"
MACHINES, SERIES_PER_MACHINE = 10, 20
DASHBOARD_REQUESTS, SMALL_SECONDS, SMALL_CLIENTS = 300, 4.0, 16


async def _bare(request) -> JSONResponse:
    await request.body()
    return JSONResponse({"data": {"me": {"kind": "api_key"}}})


async def _load(url: str, query: str, key: str, **how: float) -> dict:
    """`sf/bench/load.py` in its own process against ``url``; its JSON result."""
    args = [f"--{name}={value}" for name, value in how.items()]
    body = json.dumps({"query": query})
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sf.bench.load", url, f"--body={body}", f"--header=authorization:Bearer {key}",
        *args, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await process.communicate()
    result = json.loads(out)
    if result["errors"]:
        raise RuntimeError(f"{result['errors']} of the benchmark's requests to {url} failed")
    return result


async def _seed(stack: InProcessStack, signer: TokenSigner) -> str:
    """A tenant with 10 machines of 20 series, each with a latest value; an API key to read it."""
    tenant = await create_tenant(
        stack.targets["tenancy"],
        signer,
        "Bench GraphQL",
        series_count=SERIES_PER_MACHINE,
        machines=MACHINES,
        plan="enterprise",
    )
    await send_batches(stack.targets["ingest"], tenant.credential, [one_value_each(tenant.series_ids, 1.5)])
    return await create_api_key(stack.targets["tenancy"], signer, tenant.id, ["read"])


def unthrottled_catalog(folder: Path) -> Path:
    """The plans with the enterprise plan's per-key rate limit out of the way: the figures measure the
    gateway, not the limit (its Redis check still runs on every request)."""
    return catalog_with_quotas(folder, {"enterprise": {"api_requests_per_minute": 10**9}})


async def measure(admin_url: str, redis_url: str, catalog: Path) -> dict[str, Figure]:
    key_secret = secrets.token_urlsafe(48)
    stack = await InProcessStack(admin_url, redis_url, key_secret).start()
    settings = dataclasses.replace(stack.gateway_settings(), catalog_dir=catalog)
    gateway_server = QuietServer(server_config(settings))
    gateway_task = await gateway_server.start_serving()
    bare = QuietServer(
        uvicorn_config(Starlette(routes=[Route("/json", _bare, methods=["POST"])]), "127.0.0.1", free_port())
    )
    serving = await bare.start_serving()
    try:
        bare_url = f"http://127.0.0.1:{bare.config.port}/json"
        key = await _seed(stack, TokenSigner(key_secret))
        gateway = f"http://{settings.host}:{settings.port}/graphql"
        await _load(gateway, DASHBOARD, key, requests=30)  # warm: plans, keys and connections cached
        dashboard = await _load(gateway, DASHBOARD, key, requests=DASHBOARD_REQUESTS)
        dashboard_bare = await _load(bare_url, DASHBOARD, key, requests=DASHBOARD_REQUESTS)
        small = await _load(gateway, SMALL, key, seconds=SMALL_SECONDS, concurrency=SMALL_CLIENTS)
        small_bare = await _load(bare_url, SMALL, key, seconds=SMALL_SECONDS, concurrency=SMALL_CLIENTS)
    finally:
        for server, task in ((bare, serving), (gateway_server, gateway_task)):
            server.should_exit = True
            await task
        await stack.stop()
    return {
        "graphql.dashboard_p99_ms": Figure(dashboard["p99_ms"], "ms", dashboard_bare["p99_ms"]),
        "graphql.small_rps": Figure(small["rps"], "requests/s", small_bare["rps"], higher_is_better=True),
    }


def run() -> dict[str, Figure]:
    with fresh_databases() as (admin_url, redis_url), tempfile.TemporaryDirectory() as folder:
        return asyncio.run(measure(admin_url, redis_url, unthrottled_catalog(Path(folder))))
