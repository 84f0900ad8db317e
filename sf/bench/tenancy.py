"""Control-plane figures with 10,000 tenants and 500,000 devices seeded: resolving a device
credential or API key to its principal (cached and uncached) and a supplier's tenant list.

The baseline is the floor of any call on the same stack: a gRPC health check round trip.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import secrets
import time
import uuid

import grpc
import numpy as np
import psycopg
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.ingest.catalog import TenancyCatalog
from services.runtime.channels import CallerIdentity
from services.runtime.principal import Kind, Principal
from services.runtime.tokens import METADATA_KEY, TokenSigner, service_principal
from services.tenancy.credentials import checksum_key, credential_hash
from sf.bench.databases import fresh_databases
from sf.bench.figures import Figure
from sf.inprocess import InProcessStack
from sfcloud.v1 import tenancy_pb2, tenancy_pb2_grpc

SUPPLIERS, TENANTS, DEVICES = 100, 10_000, 500_000
CALLS = 2_000


def seed(admin_url: str) -> None:
    """Suppliers, tenants (100 per supplier), devices (50 per tenant) and one API key per tenant, in SQL."""
    with psycopg.connect(admin_url) as conn:
        conn.execute(
            "INSERT INTO tenancy.suppliers (id, slug, name) SELECT md5('s' || i)::uuid, 'bench-s' || i,"
            " 'Bench Supplier ' || i FROM generate_series(0, %s - 1) i",
            [SUPPLIERS],
        )
        conn.execute(
            "INSERT INTO tenancy.tenants (id, supplier_id, name, slug) SELECT md5('t' || j)::uuid,"
            " md5('s' || (j %% %s))::uuid, 'Bench SME ' || lpad(j::text, 5, '0'), 'bench-t' || j"
            " FROM generate_series(0, %s - 1) j",
            [SUPPLIERS, TENANTS],
        )
        conn.execute(
            "INSERT INTO tenancy.subscriptions (tenant_id, plan_code, state) SELECT md5('t' || j)::uuid, 'enterprise',"
            " 'active' FROM generate_series(0, %s - 1) j",
            [TENANTS],
        )
        conn.execute(
            "INSERT INTO tenancy.devices (tenant_id, id, name, credential_prefix, credential_hash)"
            " SELECT md5('t' || (i %% %s))::uuid, md5('d' || i)::uuid, 'edge-' || i, 'b' || lpad(i::text, 11, '0'),"
            " sha256(convert_to('sfd_b' || lpad(i::text, 11, '0') || '_' || md5('d' || i), 'UTF8'))"
            " FROM generate_series(0, %s - 1) i",
            [TENANTS, DEVICES],
        )
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO tenancy.api_keys (tenant_id, id, name, prefix, key_hash, scopes)"
                " VALUES (%s, %s, 'bench', %s, %s, '{read}')",
                [
                    (uuid.UUID(_md5("t", j)), uuid.uuid4(), _key_prefix(j), credential_hash(api_key(j)))
                    for j in range(TENANTS)
                ],
            )
        conn.execute("ANALYZE")


def _md5(tag: str, n: int) -> str:
    return hashlib.md5(f"{tag}{n}".encode(), usedforsecurity=False).hexdigest()  # deterministic ids


def device_credential(i: int) -> str:
    return f"sfd_b{i:011d}_{_md5('d', i)}"


def _key_prefix(j: int) -> str:
    return f"k{j:011d}"


def api_key(j: int) -> str:
    prefix, secret = _key_prefix(j), _md5("k", j)
    return f"sfk_{prefix}_{secret}{checksum_key(prefix + secret)}"


def p99_ms(samples: list[float]) -> float:
    return float(np.percentile(samples, 99) * 1000)


async def timed(calls: int, work) -> list[float]:
    samples = []
    for n in range(calls):
        started = time.perf_counter()
        await work(n)
        samples.append(time.perf_counter() - started)
    return samples


async def measure(stack: InProcessStack, signer: TokenSigner) -> dict[str, Figure]:
    rng = random.Random(7)  # noqa: S311 (sampling which device to ask for, not security)
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
        stub = tenancy_pb2_grpc.TenancyServiceStub(channel)
        health = health_pb2_grpc.HealthStub(channel)
        floor = p99_ms(await timed(CALLS, lambda n: health.Check(health_pb2.HealthCheckRequest(), timeout=5)))
        as_ingest = ((METADATA_KEY, signer.sign(service_principal("ingest"))),)
        as_gateway = ((METADATA_KEY, signer.sign(service_principal("gateway"))),)
        device = await timed(
            CALLS,
            lambda n: stub.AuthenticateDevice(
                tenancy_pb2.AuthenticateDeviceRequest(credential=device_credential(rng.randrange(DEVICES))),
                metadata=as_ingest,
                timeout=5,
            ),
        )
        key = await timed(
            CALLS // 2,
            lambda n: stub.AuthenticateApiKey(
                tenancy_pb2.AuthenticateApiKeyRequest(key=api_key(rng.randrange(TENANTS))),
                metadata=as_gateway,
                timeout=5,
            ),
        )
        cache = TenancyCatalog(stub, CallerIdentity(signer))
        hot = [device_credential(rng.randrange(DEVICES)) for _ in range(100)]
        for credential in hot:
            await cache.authenticate_device(credential)
        cached = await timed(CALLS * 5, lambda n: cache.authenticate_device(hot[n % len(hot)]))
        listing = await timed(CALLS // 4, lambda n: _list_page(stub, signer, rng))
    return {
        "tenancy.auth_p99_uncached_ms": Figure(max(p99_ms(device), p99_ms(key)), "ms", floor),
        "tenancy.auth_p99_cached_ms": Figure(p99_ms(cached), "ms", floor),
        "tenancy.supplier_list_p99_ms": Figure(p99_ms(listing), "ms", floor),
    }


async def _list_page(stub, signer: TokenSigner, rng: random.Random) -> None:
    """A supplier's staff member opens its tenant list and pages on once."""
    supplier = uuid.UUID(_md5("s", rng.randrange(SUPPLIERS)))
    staff = Principal(Kind.USER, str(uuid.uuid4()), supplier_id=supplier)
    metadata = ((METADATA_KEY, signer.sign(staff)),)
    first = await stub.ListTenants(tenancy_pb2.ListTenantsRequest(page_size=50), metadata=metadata, timeout=5)
    if rng.random() < 0.5 and first.next_page_token:
        await stub.ListTenants(
            tenancy_pb2.ListTenantsRequest(page_size=50, page_token=first.next_page_token),
            metadata=metadata,
            timeout=5,
        )


async def _run(admin_url: str, redis_url: str) -> dict[str, Figure]:
    key = secrets.token_urlsafe(48)
    stack = await InProcessStack(admin_url, redis_url, key).start()
    try:
        await asyncio.to_thread(seed, admin_url)
        return await measure(stack, TokenSigner(key))
    finally:
        await stack.stop()


def run() -> dict[str, Figure]:
    with fresh_databases() as (admin_url, redis_url):
        return asyncio.run(_run(admin_url, redis_url))
