"""Row-level security on data-sharing grants, the second wall behind the tenancy service's own checks: the
grantor reads and writes its grants, the grantee only reads those given to it, anyone else sees none, and a
grantor's look-up of its grantee shows that one tenant's record and nothing more."""

from __future__ import annotations

import time
import uuid

import grpc
import psycopg
import pytest

from services.runtime.principal import Kind, Principal, Role
from services.runtime.settings import role_url
from sf.seeding import create_tenant
from sfcloud.v1 import common_pb2, sharing_pb2, sharing_pb2_grpc
from tests.control_plane import Tenancy
from tests.sharing.helpers import HOUR_NS


@pytest.fixture(scope="module")
async def granted(stack, signer):
    """A grants B one series; C stands by."""
    target = stack.targets["tenancy"]
    a, b, c = [await create_tenant(target, signer, f"RLS {name}") for name in "ABC"]
    async with grpc.aio.insecure_channel(target) as channel:
        sharing = Tenancy(sharing_pb2_grpc.SharingServiceStub(channel), signer)
        request = sharing_pb2.CreateGrantRequest(
            grantee_kind=sharing_pb2.GRANTEE_KIND_TENANT,
            grantee_id=str(b.id),
            series_ids=[a.series_ids[0]],
            range=common_pb2.TimeRange(start_ns=0, end_ns=HOUR_NS),
            granularity=sharing_pb2.GRANULARITY_HOUR,
            purpose="row-level security",
            expires_ns=time.time_ns() + HOUR_NS,
        )
        owner = Principal(Kind.USER, str(uuid.uuid4()), tenant_id=a.id, role=Role.OWNER)
        made = await sharing.call("CreateGrant", request, owner)
    return a, b, c, made.grant.id


def _seen(url: str, settings: dict[str, str], sql: str, params: list | None = None) -> list[tuple]:
    with psycopg.connect(url) as conn:
        for name, value in settings.items():
            conn.execute("SELECT set_config(%s, %s, true)", [name, value])
        return conn.execute(sql, params or []).fetchall()


def test_grants_show_to_their_grantor_and_grantee_only(admin_url, granted):
    a, b, c, grant_id = granted
    url = role_url(admin_url, "sf_tenancy", None)
    ids = "SELECT id::text FROM tenancy.data_grants WHERE id = %s"
    assert _seen(url, {"app.tenant_id": str(a.id)}, ids, [grant_id]) == [(grant_id,)]
    assert _seen(url, {"app.tenant_id": str(b.id)}, ids, [grant_id]) == [(grant_id,)]
    assert _seen(url, {"app.tenant_id": str(c.id)}, ids, [grant_id]) == []
    assert _seen(url, {}, ids, [grant_id]) == []


def test_only_the_grantor_writes_its_grants(admin_url, granted):
    a, b, _, grant_id = granted
    url = role_url(admin_url, "sf_tenancy", None)
    widen = "UPDATE tenancy.data_grants SET end_ns = end_ns * 2 WHERE id = %s RETURNING id"
    assert _seen(url, {"app.tenant_id": str(b.id)}, widen, [grant_id]) == []  # the grantee cannot widen it
    with pytest.raises(psycopg.errors.InsufficientPrivilege):  # nor give itself one of A's
        _seen(
            url,
            {"app.tenant_id": str(b.id)},
            "INSERT INTO tenancy.data_grants (tenant_id, id, grantor_name, grantee_tenant_id, grantee_name,"
            " series_ids, series_labels, start_ns, end_ns, granularity, purpose, expires_at, created_by)"
            " VALUES (%s, gen_random_uuid(), 'A', %s, 'B', %s, '[]', 0, 1, 'raw', 'x', now() + interval '1 day', 'b')",
            [a.id, b.id, [a.series_ids[0]]],
        )


def test_the_grantee_lookup_shows_one_tenant_and_nothing_more(admin_url, granted):
    a, b, c, _ = granted
    url = role_url(admin_url, "sf_tenancy", None)
    names = "SELECT id FROM tenancy.tenants WHERE id = ANY(%s)"
    looked_up = _seen(url, {"app.grantee_lookup": str(b.id)}, names, [[a.id, b.id, c.id]])
    assert looked_up == [(b.id,)]
    assert _seen(url, {"app.grantee_lookup": str(b.id)}, "SELECT count(*) FROM tenancy.series") == [(0,)]
