"""Process life: configuration errors stop a process with one clear line; health checks report
readiness; a draining ingest server finishes the batch in hand and tells devices to reconnect."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.ingest.config import IngestSettings
from services.ingest.server import IngestServer
from services.runtime.settings import ServiceSettings, role_url
from sfcloud.v1 import ingest_pb2_grpc
from tests.e2e.provision import create_tenant, device_metadata
from tests.e2e.test_bad_input import batch


def run_sf(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    return subprocess.run([sys.executable, "-m", "sf", *args], env={**clean, **env}, capture_output=True, text=True,
                          timeout=60)  # fmt: skip


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "SF_DATABASE_URL is not set"),
        ({"SF_DATABASE_URL": "mysql://x"}, "SF_DATABASE_URL must be a postgresql or postgres URL"),
        ({"SF_DATABASE_URL": "postgresql://h/db"}, "SF_SIGNING_KEY is not set"),
        ({"SF_DATABASE_URL": "postgresql://h/db", "SF_SIGNING_KEY": "short"}, "SF_SIGNING_KEY must be at least 32"),
        ({"SF_DATABASE_URL": "postgresql://h/db", "SF_SIGNING_KEY": "k" * 40, "SF_SHUTDOWN_GRACE_S": "soon"},
         "SF_SHUTDOWN_GRACE_S must be an integer"),
    ],
)  # fmt: skip
def test_bad_configuration_stops_with_one_line(env, message):
    result = run_sf("serve", "tenancy", **env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"sf serve: configuration error: {result.stderr.split('error: ')[1].strip()}"
    ]
    assert message in result.stderr
    assert "k" * 40 not in result.stderr  # secrets never print


async def test_health_serving_and_reflection(stack):
    """RELIABILITY R3: The health service answers without a credential (the one exception to R3)."""
    async with grpc.aio.insecure_channel(stack.targets["analytics"]) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", "sfcloud.v1.QueryService"):
            reply = await health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_draining_ingest_finishes_the_batch_then_asks_to_reconnect(
    stack, signer, admin_url, redis_url, signing_key
):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Drain")
    service = ServiceSettings(
        "ingest", "127.0.0.1:0", role_url(admin_url, "sf_ingest", None), signing_key, shutdown_grace_s=5
    )
    server = IngestServer(IngestSettings(service, stack.targets["tenancy"], redis_url))
    port = await server.start()
    queue: asyncio.Queue = asyncio.Queue()

    async def requests():
        while (item := await queue.get()) is not None:
            yield item

    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = ingest_pb2_grpc.IngestServiceStub(channel).Ingest(
            requests(), metadata=device_metadata(tenant.credential), timeout=30
        )
        await queue.put(batch(tenant.series_ids[0], [time.time_ns()], [1.0], batch_no=1))
        assert (await call.read()).batch_no == 1
        stopping = asyncio.create_task(server.stop())
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call.read()
        await stopping
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "reconnect" in caught.value.details()
