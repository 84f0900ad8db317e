"""RELIABILITY I5 (key prefixes): every Redis key and pub/sub channel belongs to one tenant (`t:{tenant}:...`)
or is one of the shared keys below, each shared by design and documented in docs/RELIABILITY.md.

The test makes its own mixed traffic first (sign-ins of a tenant user and of the platform operator, GraphQL
over a session and over an API key, an automatic persisted query, ingest), then scans the whole database.
In a full run the session's stack has served every other test by then, so their keys are scanned too.
"""

from __future__ import annotations

import hashlib
import re

import httpx
import redis.asyncio as aioredis

from sf.seeding import create_api_key, create_tenant, one_value_each, send_batches
from tests.e2e.provision import GraphQLClient

TENANT_KEY = re.compile(r"^t:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:.+$")
NO_TENANT = "t:00000000-0000-0000-0000-000000000000:"
SHARED = {
    "compact:due": "compaction jobs not yet due, one sorted set for every worker; members name their tenant",
    "compact:jobs": "the compaction job stream every worker reads; entries name their tenant",
    "export:jobs": "the export job stream every worker reads; entries name their tenant",
    "retention:lock": "one worker at a time runs the retention pass; holds the worker's name",
    "levels:lock": "one worker at a time runs the daily level pass; holds the worker's name",
}
# Users of no tenant (the platform operator, suppliers' staff) have the nil tenant's key space: their
# sessions, the index of those sessions, each person's request and subscribe buckets and their persisted
# queries. It is never read as "every tenant".
NO_TENANT_PARTS = re.compile(r"^(session:[\w-]{32,}|user:[\w-]+:(sessions|rate|subscribes)|apq(:used)?)$")
OPERATOR = ("operator@sfcloud.local", "operator-demo-pass")  # the demo tenant's platform operator


async def _mixed_traffic(stack, signer) -> None:
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Redis keys")
    await send_batches(stack.targets["ingest"], tenant.credential, [one_value_each(tenant.series_ids, 1.0)])
    for email, password in ((tenant.owner_email, tenant.owner_password), OPERATOR):
        client = await GraphQLClient.login(stack.gateway_url, email, password)
        try:
            await client.query("{ me { kind } }")
        finally:
            await client.close()
    key = await create_api_key(stack.targets["tenancy"], signer, tenant.id, ["read"])
    query = "{ machines { id } }"
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": hashlib.sha256(query.encode()).hexdigest()}}
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as http:
        response = await http.post(
            "/graphql",
            json={"query": query, "extensions": persisted},
            headers={"authorization": f"Bearer {key}"},
        )
        assert response.status_code == 200, response.text


def _foreign(name: str) -> bool:
    """Whether a key or channel is neither one tenant's nor a documented shared key."""
    if name in SHARED:
        return False
    if name.startswith(NO_TENANT):
        return not NO_TENANT_PARTS.match(name.removeprefix(NO_TENANT))
    return not TENANT_KEY.match(name)


async def test_every_redis_key_and_channel_is_a_tenants_or_documented(stack, signer, redis_url):
    await _mixed_traffic(stack, signer)
    redis = aioredis.from_url(redis_url, decode_responses=True)
    try:
        keys = [key async for key in redis.scan_iter(count=1000)]
        channels = await redis.pubsub_channels()
    finally:
        await redis.aclose()
    assert len(keys) >= 5  # the traffic above left sessions, buckets and queues
    assert any(key.startswith(NO_TENANT) for key in keys)  # the operator's session
    assert [name for name in keys + channels if _foreign(name)] == []
    tenants = {key.split(":")[1] for key in keys if key.startswith("t:")}
    print(
        f"\nI5: {len(keys)} keys ({len(tenants)} tenants), {len(channels)} channels; all prefixed or documented"
    )
