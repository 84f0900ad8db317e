"""Offboarding: a cancelled tenant past its grace period is purged: no row in any table, no Redis key,
its sessions and API keys refused, while other tenants keep everything."""

from __future__ import annotations

import asyncio
import time

import httpx
import psycopg
import redis

from services.runtime.config import Env
from sf.purge import purge_due
from sf.seeding import create_tenant, send_batches
from sfcloud.v1 import tenancy_pb2 as pb
from tests.control_plane import OPERATOR
from tests.e2e.provision import GraphQLClient
from tests.e2e.test_bad_input import batch


def rows_of(admin_url: str, tenant_id: str) -> dict[str, int]:
    """Rows mentioning the tenant in every table of the control plane and telemetry that has a tenant column."""
    with psycopg.connect(admin_url) as conn:
        tables = conn.execute(
            "SELECT table_schema || '.' || table_name, column_name FROM information_schema.columns"
            " WHERE table_schema IN ('tenancy', 'telemetry', 'analytics') AND column_name IN ('tenant_id')"
            " UNION ALL SELECT 'tenancy.tenants', 'id'"
        ).fetchall()
        return {
            table: conn.execute(f"SELECT count(*) FROM {table} WHERE {column} = %s", [tenant_id]).fetchone()[
                0
            ]
            for table, column in tables
        }


def _analytics_rows(conn, tenant) -> None:
    """A shift calendar, machine OEE settings, an SPC event and a level assessment of the tenant (analytics'
    own tables)."""
    conn.execute(
        "INSERT INTO analytics.site_calendars (tenant_id, site_id, time_zone, shifts) VALUES (%s, gen_random_uuid(),"
        " 'UTC', '[]')",
        [tenant.id],
    )
    conn.execute(
        "INSERT INTO analytics.machine_oee (tenant_id, machine_id, run_states, max_gap_s) VALUES (%s, %s, '{1}', 300)",
        [tenant.id, tenant.machine_id],
    )
    conn.execute(
        "INSERT INTO analytics.spc_events (tenant_id, series_id, ts_ns, rule, value, chart, subgroup_size, center,"
        " lower_limit, upper_limit) VALUES (%s, %s, 1, 1, 9, 1, 1, 0, -3, 3)",
        [tenant.id, tenant.series_ids[0]],
    )
    conn.execute(
        "INSERT INTO analytics.level_assessments (tenant_id, day, level, criteria, next_steps, assessed_at)"
        " VALUES (%s, current_date, 1, '[]', '[]', now())",
        [tenant.id],
    )


async def test_a_cancelled_tenant_is_purged_after_its_grace_period(
    stack, signer, tenancy, admin_url, redis_url
):
    """RELIABILITY I8: Purge: 0 rows in any table, 0 Redis keys, sessions and API keys refused."""
    doomed = await create_tenant(stack.targets["tenancy"], signer, "Doomed")
    kept = await create_tenant(stack.targets["tenancy"], signer, "Kept")
    for tenant in (doomed, kept):
        await send_batches(
            stack.targets["ingest"], tenant.credential, [batch(tenant.series_ids[0], [time.time_ns()], [1.0])]
        )
    session = await GraphQLClient.login(stack.gateway_url, doomed.owner_email, doomed.owner_password)
    owner = tenancy.owner_of(pb.Tenant(id=str(doomed.id)))
    key = (await tenancy.call("CreateApiKey", pb.CreateApiKeyRequest(name="k", scopes=["read"]), owner)).key
    await tenancy.call(
        "SetSubscriptionState",
        pb.SetSubscriptionStateRequest(
            tenant_id=str(doomed.id), state=pb.SUBSCRIPTION_STATE_CANCELLED, reason="contract ended"
        ),
        OPERATOR,
    )
    env = Env({"SF_DATABASE_URL": admin_url, "SF_REDIS_URL": redis_url})
    assert [p.tenant_id for p in await purge_due(env)] == []  # still within the grace period
    with psycopg.connect(admin_url) as conn:
        conn.execute("UPDATE tenancy.subscriptions SET purge_after = now() WHERE tenant_id = %s", [doomed.id])
        _analytics_rows(conn, doomed)
    purged = await purge_due(env)
    assert [p.tenant_id for p in purged] == [doomed.id] and purged[0].blocks == 1 and purged[0].accounts == 1
    assert {t: n for t, n in rows_of(admin_url, str(doomed.id)).items() if n} == {}
    assert rows_of(admin_url, str(kept.id))["telemetry.blocks"] == 1
    assert redis.Redis.from_url(redis_url).keys(f"t:{doomed.id}:*") == []
    refused = await session.http.post(
        "/graphql", json={"query": "{ me { kind } }"}, headers={"x-csrf-token": session.csrf}
    )
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    await session.close()
    async with httpx.AsyncClient(base_url=stack.gateway_url) as http:
        for _ in range(20):  # the gateway remembers a key for up to 5 s
            status = (
                await http.post(
                    "/graphql", json={"query": "{ me { kind } }"}, headers={"authorization": f"Bearer {key}"}
                )
            ).status_code
            if status == 401:
                break
            await asyncio.sleep(0.5)
    assert status == 401
