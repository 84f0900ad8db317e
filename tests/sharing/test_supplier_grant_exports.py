"""A supplier grantee exports a grant (docs/SHARING.md, "Exporting a grant"), end to end through GraphQL with
the real stack: the grantor's own supplier (a RAW grant) and a registered AI-analysis partner (an HOUR grant).
The package holds what `sharedPoints` / `sharedAggregate` return; every step is in the grantor's access log;
the export is the supplier's alone (not the grantor's, not another supplier's), also at the SQL level; only
the supplier's admins start and download one; a revoked grant's package is no longer served."""

from __future__ import annotations

import json
import uuid

import grpc
import psycopg
import pytest

from gateway.graphql.scalars import parse_timestamp
from services.runtime.settings import role_url
from sf.seeding import create_tenant, send_batches
from sfcloud.v1 import sharing_pb2, sharing_pb2_grpc
from tests.control_plane import OPERATOR, Tenancy
from tests.e2e.provision import GraphQLClient
from tests.e2e.test_bad_input import batch
from tests.sharing.helpers import (
    HOUR_NS,
    REVOKE,
    STEP_NS,
    grant,
    grant_input,
    refusal,
    shared_aggregate,
    shared_points,
    ts,
)
from tests.sharing.test_grant_exports import (
    ACCESSES,
    BASE_NS,
    EXPORT_FIELDS,
    EXPORT_GRANT,
    download,
    export_grant,
    parquet,
    read_package,
)
from tests.support.helpers import data, owner_client, supplier, supplier_user

EXPORTS = f"{{ exportsConnection(first: 50) {{ nodes {{ {EXPORT_FIELDS} }} }} }}"


@pytest.fixture(scope="module")
async def world(stack, signer):
    """Tenant A resold by supplier S (an admin and a staff member) with three series of 3 h of points;
    partner P; supplier T (neither)."""
    s, p, t = [await supplier(stack, signer, name) for name in ("Export S", "Export P", "Export T")]
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
        request = sharing_pb2.SetAnalysisPartnerRequest(supplier_id=p.id, partner=True)
        await Tenancy(sharing_pb2_grpc.SharingServiceStub(channel), signer).call(
            "SetAnalysisPartner", request, OPERATOR
        )
    a = await create_tenant(stack.targets["tenancy"], signer, "Export to S", supplier_id=s.id)
    stamps = list(range(BASE_NS, BASE_NS + 3 * HOUR_NS, STEP_NS))
    batches = [
        batch(series, stamps, [float(i + n) / 8 for n in range(len(stamps))], i + 1)
        for i, series in enumerate(a.series_ids)
    ]
    await send_batches(stack.targets["ingest"], a.credential, batches)
    a_owner = await owner_client(stack, a)
    s_staff = await GraphQLClient.login(stack.gateway_url, *await supplier_user(stack, signer, s.id, "staff"))
    yield {"a": a, "a_owner": a_owner, "s": s, "p": p, "t": t, "s_staff": s_staff}
    for client in (a_owner, s_staff, s.client, p.client, t.client):
        await client.close()


def in_scope(admin_url: str, role: str, settings: dict[str, str], export_id: str) -> int:
    """How many export rows with this id the role sees under these `app.*` settings."""
    with psycopg.connect(role_url(admin_url, role, None)) as conn:
        for name, value in settings.items():
            conn.execute("SELECT set_config(%s, %s, false)", [name, value])
        return conn.execute("SELECT count(*) FROM telemetry.exports WHERE id = %s", [export_id]).fetchone()[0]


async def test_the_grantors_supplier_exports_a_raw_grant(world, admin_url, tmp_path):
    a, a_owner, s, t = world["a"], world["a_owner"], world["s"], world["t"]
    granted, start, end = a.series_ids[:2], BASE_NS + HOUR_NS, BASE_NS + 2 * HOUR_NS
    made = await grant(a_owner, **grant_input(s.id, granted, start, end, granteeKind="SUPPLIER"))

    export = await export_grant(s.client, made["id"])
    assert export["state"] == "DONE" and export["error"] is None, export
    assert (export["seriesDone"], export["seriesTotal"], export["pointsDone"]) == (2, 2, 2 * 360)
    manifest, files = read_package(await download(s.client, export, tmp_path))
    assert manifest["tenant"]["id"] == str(a.id)
    assert (
        manifest["grant"]["grantee"] == {"id": s.id, "name": s.name} and manifest["grant"]["level"] == "raw"
    )
    assert manifest["totals"] == {"assets": 3, "series": 2, "points": 720}
    assert sorted(files) == sorted(["assets.json", "series.json", *(f"points/{x}.parquet" for x in granted)])
    assert sorted(x["id"] for x in json.loads(files["series.json"])["series"]) == sorted(granted)
    for series_id in granted:
        table = parquet(files[f"points/{series_id}.parquet"])
        shared = data(await shared_points(s.client, made["id"], series_id, start, end))["sharedPoints"]
        assert table["timestamp_ns"].to_pylist() == [parse_timestamp(x) for x in shared["timestamps"]]
        assert table["value"].to_pylist() == shared["values"] and len(shared["values"]) == 360

    # The grantor sees every step in the grant's log, by the supplier's admin, and nothing of the export.
    log = data(await a_owner.query(ACCESSES, grant=made["id"]))["grantAccessLog"]["accesses"]
    steps = [e["exportStage"] for e in reversed(log) if e["action"] == "share.export"]
    assert steps == ["request", "write", "finish", "download"]
    reads = [e for e in log if e["action"] == "share.read" and e["source"] == f"export:{export['id']}"]
    assert sorted(e["seriesId"] for e in reads) == sorted(granted)
    assert refusal(await a_owner.query(f'{{ export(id: "{export["id"]}") {{ id }} }}'))[0] == "NOT_FOUND"
    assert export["id"] not in {
        e["id"] for e in data(await a_owner.query(EXPORTS))["exportsConnection"]["nodes"]
    }
    assert (await a_owner.http.get(export["downloadUrl"])).status_code == 404
    # Another supplier finds nothing; the supplier lists it.
    assert refusal(await t.client.query(f'{{ export(id: "{export["id"]}") {{ id }} }}'))[0] == "NOT_FOUND"
    assert data(await t.client.query(EXPORTS))["exportsConnection"]["nodes"] == []
    assert (await t.client.http.get(export["downloadUrl"])).status_code == 404
    listed = data(await s.client.query(EXPORTS))["exportsConnection"]["nodes"]
    assert export["id"] in {e["id"] for e in listed}

    # Row-level security holds the same at the SQL level: the worker sees the row only as the supplier; the
    # grantor's context never does; offboarding the grantor (ingest's purge) does, to delete it.
    assert in_scope(admin_url, "sf_worker", {"app.supplier_id": s.id}, export["id"]) == 1
    assert in_scope(admin_url, "sf_worker", {"app.tenant_id": str(a.id)}, export["id"]) == 0
    assert in_scope(admin_url, "sf_worker", {"app.supplier_id": t.id}, export["id"]) == 0
    assert in_scope(admin_url, "sf_ingest", {"app.tenant_id": str(a.id)}, export["id"]) == 1


async def test_a_partner_exports_the_buckets_of_an_hour_grant(world, tmp_path):
    a, a_owner, p = world["a"], world["a_owner"], world["p"]
    series, start, end = a.series_ids[2], BASE_NS, BASE_NS + 3 * HOUR_NS
    made = await grant(
        a_owner, **grant_input(p.id, [series], start, end, granteeKind="SUPPLIER", granularity="HOUR")
    )
    assert made["granteeIsPartner"]

    export = await export_grant(p.client, made["id"])
    assert export["state"] == "DONE", export
    manifest, files = read_package(await download(p.client, export, tmp_path))
    assert (manifest["grant"]["level"], manifest["grant"]["grantee"]["id"]) == ("hour", p.id)
    assert sorted(files) == [f"aggregates/{series}.parquet", "assets.json", "series.json"]
    rows = parquet(files[f"aggregates/{series}.parquet"]).to_pylist()
    shared = data(await shared_aggregate(p.client, made["id"], series, start, end, "1h"))["sharedAggregate"]
    assert [
        {"start": ts(r["start_ns"]), **{k: r[k] for k in ("count", "min", "max", "sum", "avg")}} for r in rows
    ] == shared
    assert [r["count"] for r in rows] == [360, 360, 360]
    log = data(await a_owner.query(ACCESSES, grant=made["id"]))["grantAccessLog"]["accesses"]
    assert [e["exportStage"] for e in reversed(log) if e["action"] == "share.export"] == [
        "request", "write", "finish", "download"
    ]  # fmt: skip


async def test_only_a_suppliers_admins_export_and_download(world):
    a, a_owner, s, s_staff = world["a"], world["a_owner"], world["s"], world["s_staff"]
    start, end = BASE_NS, BASE_NS + HOUR_NS
    made = await grant(a_owner, **grant_input(s.id, [a.series_ids[2]], start, end, granteeKind="SUPPLIER"))
    # Staff read the grant, but may not take a copy away; they follow the supplier's exports.
    assert len(data(await shared_points(s_staff, made["id"], a.series_ids[2], start, end))["sharedPoints"][
        "timestamps"
    ]) == 360  # fmt: skip
    assert refusal(await s_staff.query(EXPORT_GRANT, grant=made["id"])) == ("FORBIDDEN", "EXPORT_NOT_ALLOWED")
    export = await export_grant(s.client, made["id"])
    assert export["state"] == "DONE", export
    followed = data(await s_staff.query(f'{{ export(id: "{export["id"]}") {{ state }} }}'))["export"]
    assert followed["state"] == "DONE"
    response = await s_staff.http.get(export["downloadUrl"])
    assert response.status_code == 403 and "admins" in response.text
    # A supplier exports grants only: never its tenant's whole data.
    assert refusal(await s.client.query("mutation { startExport { id } }"))[0] == "FORBIDDEN"


async def test_a_revoked_grant_is_refused_and_its_package_no_longer_served(world):
    a, a_owner, s = world["a"], world["a_owner"], world["s"]
    made = await grant(
        a_owner,
        **grant_input(s.id, [a.series_ids[0]], BASE_NS, BASE_NS + HOUR_NS // 2, granteeKind="SUPPLIER"),
    )
    export = await export_grant(s.client, made["id"])
    assert export["state"] == "DONE", export
    assert data(await a_owner.query(REVOKE, id=made["id"]))["revokeGrant"]["errors"] == []

    assert refusal(await s.client.query(EXPORT_GRANT, grant=made["id"])) == ("FORBIDDEN", "GRANT_REVOKED")
    response = await s.client.http.get(export["downloadUrl"])
    assert response.status_code == 403 and "revoked" in response.text
    log = data(await a_owner.query(ACCESSES, grant=made["id"]))["grantAccessLog"]["accesses"]
    denied = [(e["exportStage"], e["reason"]) for e in log if e["outcome"] == "denied"]
    assert denied == [("download", "GRANT_REVOKED"), ("request", "GRANT_REVOKED")]


async def test_another_suppliers_grant_is_not_found(world):
    a, a_owner, p, t = world["a"], world["a_owner"], world["p"], world["t"]
    made = await grant(
        a_owner,
        **grant_input(p.id, [a.series_ids[1]], BASE_NS, BASE_NS + HOUR_NS, granteeKind="SUPPLIER"),
    )
    payload = data(await t.client.query(EXPORT_GRANT, grant=made["id"]))["exportGrant"]
    assert payload["export"] is None and [e["code"] for e in payload["errors"]] == ["GRANT_NOT_FOUND"]
    payload = data(await world["s"].client.query(EXPORT_GRANT, grant=str(uuid.uuid4())))["exportGrant"]
    assert [e["code"] for e in payload["errors"]] == ["GRANT_NOT_FOUND"]
    log = data(await a_owner.query(ACCESSES, grant=made["id"]))["grantAccessLog"]["accesses"]
    assert [e["action"] for e in log] == ["share.grant"]
