"""Row-level security, the second wall: checked in the catalog, at the SQL level and over gRPC."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import grpc
import psycopg
import pytest

from services.runtime.db import Database
from services.runtime.migrations import APP_ROLES
from services.runtime.principal import Kind, Principal, Role
from services.runtime.settings import role_url
from services.runtime.tokens import METADATA_KEY
from sfcloud.v1 import common_pb2, query_pb2, query_pb2_grpc, tenancy_pb2, tenancy_pb2_grpc
from tests.e2e.provision import create_tenant, send_batches
from tests.e2e.test_bad_input import NOW_NS, batch

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
async def two_tenants(stack, signer):
    a = await create_tenant(stack.targets["tenancy"], signer, "Iso A")
    b = await create_tenant(stack.targets["tenancy"], signer, "Iso B")
    await send_batches(
        stack.targets["ingest"], a.credential, [batch(a.series_ids[0], [NOW_NS - 10**9, NOW_NS], [1.0, 2.0])]
    )
    return a, b


def test_every_tenant_table_forces_row_level_security(admin_conn):
    """RELIABILITY I2: Every table with tenant_id has RLS enabled and forced and at least one policy."""
    tables = admin_conn.execute(
        "SELECT c.oid::regclass::text, c.relrowsecurity, c.relforcerowsecurity,"
        " (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid)"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'p') AND n.nspname IN ('tenancy', 'telemetry', 'analytics')"
        " AND (EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id')"
        "      OR c.oid = 'tenancy.tenants'::regclass)"
    ).fetchall()
    assert {t[0] for t in tables} >= {
        "tenancy.tenants",
        "tenancy.assets",
        "tenancy.series",
        "tenancy.devices",
        "tenancy.memberships",
        "telemetry.blocks",
        "analytics.site_calendars",
        "analytics.machine_oee",
        "analytics.spc_events",
        "analytics.level_assessments",
    }
    assert [t for t in tables if not (t[1] and t[2] and t[3] >= 1)] == []


def test_application_roles_cannot_bypass_row_level_security(admin_conn):
    """RELIABILITY I2: Service roles: not superuser, no BYPASSRLS, own nothing; no view without security_invoker."""
    roles = admin_conn.execute(
        "SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = ANY(%s)", [list(APP_ROLES)]
    ).fetchall()
    assert sorted(r[0] for r in roles) == sorted(APP_ROLES)
    assert all(not r[1] and not r[2] for r in roles)
    owned = admin_conn.execute(
        "SELECT c.oid::regclass::text FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = ANY(%s)",
        [list(APP_ROLES)],
    ).fetchall()
    assert owned == []
    definer_views = admin_conn.execute(
        "SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind = 'v' AND n.nspname IN ('tenancy', 'telemetry', 'analytics')"
        " AND NOT coalesce('security_invoker=true' = ANY(c.reloptions), false)"
    ).fetchall()
    assert definer_views == []


def test_no_function_escapes_row_level_security(admin_conn):
    """RELIABILITY I2: No SECURITY DEFINER function touches a tenant table without naming the tenant, and
    no function of ours is LEAKPROOF (a leakproof function may be pushed below a policy's filter)."""
    functions = admin_conn.execute(
        "SELECT p.oid::regprocedure::text, p.prosecdef, p.proleakproof, p.prosrc"
        " FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'"
    ).fetchall()
    assert functions, "the migrations define functions: the catalog query found none"
    tenant_tables = {
        row[0]
        for row in admin_conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid"
            " WHERE a.attname = 'tenant_id' AND c.relkind IN ('r', 'p')"
        )
    }
    definers = [
        name
        for name, definer, _, source in functions
        if definer
        and any(re.search(rf"\b{t}\b", source) for t in tenant_tables)
        and "tenant_id" not in source
    ]
    assert definers == [], "SECURITY DEFINER without a tenant predicate"
    assert [name for name, _, leakproof, _ in functions if leakproof] == []


def _blocks_seen(url: str, *statements: tuple[str, list]) -> int:
    with psycopg.connect(url) as conn:
        for sql, params in statements:
            conn.execute(sql, params)
        return conn.execute("SELECT count(*) FROM telemetry.blocks").fetchone()[0]


def test_sql_sees_only_the_tenant_in_context(admin_url, two_tenants):
    """RELIABILITY I3: Never-set (NULL) and committed ('') tenant settings both see 0 rows."""
    a, b = two_tenants
    url = role_url(admin_url, "sf_analytics", None)
    scoped = "SELECT set_config('app.tenant_id', %s, true)"
    assert _blocks_seen(url, (scoped, [str(a.id)])) >= 1
    assert _blocks_seen(url, (scoped, [str(b.id)])) == 0
    assert _blocks_seen(url) == 0  # never set: NULL
    # set earlier in the session and committed: '' for the rest of the session
    with psycopg.connect(url, autocommit=True) as conn:
        with conn.transaction():
            conn.execute(scoped, [str(a.id)])
        assert conn.execute("SELECT current_setting('app.tenant_id', true)").fetchone()[0] == ""
        assert conn.execute("SELECT count(*) FROM telemetry.blocks").fetchone()[0] == 0


async def test_a_pooled_connection_does_not_carry_the_tenant_over(admin_url, two_tenants):
    """RELIABILITY I3: A connection last used by tenant A, reused without context, sees 0 rows."""
    a, _ = two_tenants
    db = Database(role_url(admin_url, "sf_analytics", None), min_size=1, max_size=1)
    await db.open()
    try:
        async with db.tenant(a.id) as conn:
            assert (await (await conn.execute("SELECT count(*) FROM telemetry.blocks")).fetchone())[0] >= 1
        async with db.transaction({}) as conn:
            assert (await (await conn.execute("SELECT count(*) FROM telemetry.blocks")).fetchone())[0] == 0
    finally:
        await db.close()


def _as(signer, tenant_id: uuid.UUID, role: Role = Role.OWNER) -> tuple:
    return (
        (METADATA_KEY, signer.sign(Principal(Kind.USER, str(uuid.uuid4()), tenant_id=tenant_id, role=role))),
    )


async def test_grpc_calls_in_tenant_b_never_reach_tenant_a(stack, signer, two_tenants):
    """RELIABILITY I1: B's reads and writes of A's objects are NOT_FOUND, as if they never existed."""
    a, b = two_tenants
    as_b = _as(signer, b.id)
    async with grpc.aio.insecure_channel(stack.targets["analytics"]) as channel:
        query = query_pb2_grpc.QueryServiceStub(channel)
        whole = common_pb2.TimeRange(start_ns=0, end_ns=2**62)
        week = common_pb2.TimeRange(start_ns=0, end_ns=7 * 86_400 * 10**9)  # a raw read's widest (starter)
        for call in (
            query.ReadPoints(
                query_pb2.ReadPointsRequest(series_id=a.series_ids[0], range=week), metadata=as_b, timeout=5
            ),
            query.ChartSeries(
                query_pb2.ChartSeriesRequest(series_id=a.series_ids[0], range=whole, columns=100),
                metadata=as_b,
                timeout=5,
            ),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as caught:  # as if it never existed
                await call
            assert caught.value.code() == grpc.StatusCode.NOT_FOUND
        latest = await query.LatestValues(
            query_pb2.LatestValuesRequest(series_ids=a.series_ids), metadata=as_b, timeout=5
        )
        assert list(latest.values) == []
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
        tenancy = tenancy_pb2_grpc.TenancyServiceStub(channel)
        listed = await tenancy.ListSeries(
            tenancy_pb2.ListSeriesRequest(series_ids=a.series_ids), metadata=as_b, timeout=5
        )
        assert list(listed.series) == []
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await tenancy.CreateSeries(
                tenancy_pb2.CreateSeriesRequest(
                    machine_id=a.machine_id, name="intruder", unit="", kind="gauge"
                ),
                metadata=as_b,
                timeout=5,
            )
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await tenancy.CreateAsset(
                tenancy_pb2.CreateAssetRequest(
                    parent_id=a.machine_id, kind=tenancy_pb2.ASSET_KIND_MACHINE, name="x"
                ),
                metadata=as_b,
                timeout=5,
            )
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_viewers_cannot_change_the_tenant(stack, signer, two_tenants):
    a, _ = two_tenants
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
        tenancy = tenancy_pb2_grpc.TenancyServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await tenancy.CreateDevice(
                tenancy_pb2.CreateDeviceRequest(name="x"), metadata=_as(signer, a.id, Role.VIEWER), timeout=5
            )
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_no_session_level_tenant_settings_in_the_code():
    """RELIABILITY I3: Tenant settings are transaction-local only: no SET app.*, no set_config(..., false)."""
    offending = []
    for path in [
        *REPO.glob("services/**/*.py"),
        *REPO.glob("services/**/*.sql"),
        *REPO.glob("gateway/**/*.py"),
    ]:
        text = path.read_text()
        if re.search(r"\bSET\s+(SESSION\s+)?app\.", text, re.I) or re.search(
            r"set_config\([^)]*false\)", text, re.I
        ):
            offending.append(str(path))
    assert offending == []


def _invitations_seen(url: str, email: str, settings: dict[str, str]) -> int:
    with psycopg.connect(url) as conn:
        for name, value in settings.items():
            conn.execute("SELECT set_config(%s, %s, true)", [name, value])
        return conn.execute("SELECT count(*) FROM tenancy.invitations WHERE email = %s", [email]).fetchone()[
            0
        ]


async def test_a_suppliers_invitations_are_seen_by_it_and_their_token_only(admin_url, admin_conn, tenancy):
    """RELIABILITY I2: an invitation onto supplier S's staff (InviteSupplierUser by the email of an account)
    is seen under S (`app.supplier_id`) and by its token's hash (`app.invitation`, accepting), never under
    another supplier, S's own tenant, no setting or another token; and no one but S may write one of S's."""
    s, s_admin = await tenancy.supplier("Iso S")
    t, _ = await tenancy.supplier("Iso T")
    tenant, owner = await tenancy.tenant(s_admin)  # the account's tenant is resold by S itself
    email = f"iso-{uuid.uuid4().hex[:8]}@example.com"
    member = tenancy_pb2.CreateUserRequest(
        email=email, password="p" * 12, display_name="M", role=tenancy_pb2.ROLE_VIEWER
    )
    await tenancy.provision(owner.tenant_id, member)
    staff = tenancy_pb2.InviteSupplierUserRequest(supplier_id=s.id, email=email, role="staff")
    await tenancy.call("InviteSupplierUser", staff, s_admin)
    [(hashed,)] = admin_conn.execute(
        "SELECT encode(token_hash, 'hex') FROM tenancy.invitations WHERE supplier_id = %s", [s.id]
    ).fetchall()
    url = role_url(admin_url, "sf_tenancy", None)
    seen = [
        _invitations_seen(url, email, settings)
        for settings in (
            {"app.supplier_id": s.id},
            {"app.invitation": hashed},
            {"app.supplier_id": t.id},
            {"app.tenant_id": tenant.id},
            {},
            {"app.invitation": "00" * 32},
        )
    ]
    assert seen == [1, 1, 0, 0, 0, 0]
    with psycopg.connect(url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT set_config('app.supplier_id', %s, true)", [t.id])
        conn.execute(
            "INSERT INTO tenancy.invitations (supplier_id, id, email, role, token_hash, invited_by, expires_at)"
            " VALUES (%s, gen_random_uuid(), 'x@example.com', 'staff', '\\x00', 'intruder', now())",
            [s.id],
        )
