"""A grantee exports a grant (docs/SHARING.md, "Exporting a grant"), end to end through GraphQL with the real
stack: the package holds exactly what `sharedPoints` (RAW) or `sharedAggregate` (HOUR) return over the grant,
the granted series and only the assets that place them; every step shows in the grantor's access log and
nowhere else; `sf import` loads a RAW grant's package exactly and refuses an aggregate one; a revoked grant
is refused, fails an export still being written, and its package is no longer served; another tenant's grant
is not found."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
import zipfile
from pathlib import Path

import grpc
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gateway.graphql.scalars import parse_timestamp
from services.analytics.service import QueryService
from services.exchange.package import PackageError
from services.runtime.cells import CellDatabases
from services.runtime.channels import CallerIdentity
from services.runtime.config import Env
from services.runtime.db import Database
from services.runtime.series import SeriesDirectory
from services.runtime.settings import DEFAULT_CELL, role_url
from services.worker import export_storage
from services.worker.catalog import TenancyCatalog
from services.worker.exporter import Exporter, ExportJob
from services.worker.grant_checks import TenancyGrantChecks
from services.worker.grant_exporter import GrantPackages
from sf.imports import run_import
from sf.seeding import create_tenant, send_batches
from sfcloud.v1 import sharing_pb2_grpc, tenancy_pb2_grpc
from tests.control_plane import OPERATOR
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
from tests.support.helpers import data, owner_client
from tests.worker.conftest import stored_points

BASE_NS = (time.time_ns() // HOUR_NS - 4) * HOUR_NS  # whole hours: 4 h ago, 3 h of points
EXPORT_FIELDS = "id state pointsDone seriesDone seriesTotal bytes sha256 error downloadUrl grantId"
EXPORT_GRANT = (
    "mutation($grant: ID!) { exportGrant(grantId: $grant) {"
    f" export {{ {EXPORT_FIELDS} }} errors {{ field code message }} }} }}"
)
ACCESSES = (
    "query($grant: ID!) { grantAccessLog(grantId: $grant, first: 500) {"
    " accesses { action actor outcome reason seriesId from to resolution source exportId exportStage } } }"
)


@pytest.fixture(scope="module")
async def world(stack, signer):
    """Tenant A with three series of 3 h of points every 10 s; tenants B and C."""
    target = stack.targets["tenancy"]
    a = await create_tenant(target, signer, "Export A")
    b, c = await create_tenant(target, signer, "Export B"), await create_tenant(target, signer, "Export C")
    stamps = list(range(BASE_NS, BASE_NS + 3 * HOUR_NS, STEP_NS))
    batches = [
        batch(series, stamps, [float(i + n) / 4 for n in range(len(stamps))], i + 1)
        for i, series in enumerate(a.series_ids)
    ]
    await send_batches(stack.targets["ingest"], a.credential, batches)
    clients = {name: await owner_client(stack, t) for name, t in (("a", a), ("b", b), ("c", c))}
    yield {"a": a, "b": b, "c": c, **{f"{k}_owner": v for k, v in clients.items()}}
    for client in clients.values():
        await client.close()


async def export_grant(client, grant_id: str) -> dict:
    """The grantee's export of the grant, once finished (or failed)."""
    started = data(await client.query(EXPORT_GRANT, grant=grant_id))["exportGrant"]
    assert started["errors"] == [] and started["export"]["grantId"] == grant_id, started
    for _ in range(300):
        found = data(
            await client.query(f'{{ export(id: "{started["export"]["id"]}") {{ {EXPORT_FIELDS} }} }}')
        )
        if found["export"]["state"] in ("DONE", "FAILED"):
            return found["export"]
        await asyncio.sleep(0.1)
    raise AssertionError(f"the export did not finish: {found}")


async def download(client, export: dict, folder: Path) -> Path:
    response = await client.http.get(export["downloadUrl"])
    assert response.status_code == 200, response.text
    path = folder / f"{export['id']}.zip"
    path.write_bytes(response.content)
    return path


def read_package(path: Path) -> tuple[dict, dict[str, bytes]]:
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    return json.loads(files.pop("manifest.json")), files


def parquet(raw: bytes):
    return pq.read_table(pa.BufferReader(raw))


async def test_a_raw_grant_exports_exactly_its_points(world, tenancy, admin_url, admin_conn, tmp_path):
    a, b, a_owner, b_owner = world["a"], world["b"], world["a_owner"], world["b_owner"]
    granted, start, end = a.series_ids[:2], BASE_NS + HOUR_NS // 2, BASE_NS + 5 * HOUR_NS // 2
    made = await grant(a_owner, **grant_input(b.id, granted, start, end))

    export = await export_grant(b_owner, made["id"])
    assert export["state"] == "DONE" and export["error"] is None, export
    assert (export["seriesDone"], export["seriesTotal"], export["pointsDone"]) == (2, 2, 2 * 720)
    manifest, files = read_package(await download(b_owner, export, tmp_path))
    assert manifest["format_version"] == 2 and manifest["tenant"]["id"] == str(a.id)
    assert manifest["grant"] | {"expires_ns": 0} == {
        "id": made["id"], "grantee": {"id": str(b.id), "name": made["granteeName"]}, "from_ns": start, "to_ns": end,
        "level": "raw", "bucket_ns": 0, "purpose": "Predictive maintenance study", "expires_ns": 0,
    }  # fmt: skip
    assert manifest["totals"] == {"assets": 3, "series": 2, "points": 1440}
    series = json.loads(files["series.json"])["series"]
    assert sorted(s["id"] for s in series) == sorted(granted)
    assets = json.loads(files["assets.json"])["assets"]
    assert [x["kind"] for x in assets] == ["site", "line", "machine"] and assets[2]["id"] == a.machine_id
    assert sorted(files) == sorted(["assets.json", "series.json", *(f"points/{s}.parquet" for s in granted)])
    for series_id in granted:
        table = parquet(files[f"points/{series_id}.parquet"])
        shared = data(await shared_points(b_owner, made["id"], series_id, start, end))["sharedPoints"]
        assert table["timestamp_ns"].to_pylist() == [parse_timestamp(t) for t in shared["timestamps"]]
        assert table["value"].to_pylist() == shared["values"] and len(shared["values"]) == 720

    # `sf import` loads it into another tenant exactly: the same points, under the same tree's shape.
    target = uuid.UUID((await tenancy.tenant(OPERATOR))[0].id)  # nothing in it: no site's name can clash
    path = tmp_path / f"{export['id']}.zip"
    report = await run_import(path, target, Env({"SF_DATABASE_URL": admin_url}))
    assert report.points == 1440 and len(report.series) == 2 and len(report.assets) == 3
    for old, new in report.series.items():
        old_ts, old_values = stored_points(admin_conn, old)
        new_ts, new_values = stored_points(admin_conn, new)
        inside = (old_ts >= start) & (old_ts < end)
        assert np.array_equal(old_ts[inside], new_ts)
        assert np.array_equal(old_values[inside].view(np.uint64), new_values.view(np.uint64))

    # The grantor sees every step and read in the grant's log, and nothing of the export itself.
    log = data(await a_owner.query(ACCESSES, grant=made["id"]))["grantAccessLog"]["accesses"]
    steps = [e["exportStage"] for e in reversed(log) if e["action"] == "share.export"]
    assert steps == ["request", "write", "finish", "download"]
    assert {e["exportId"] for e in log if e["action"] == "share.export"} == {export["id"]}
    reads = [e for e in log if e["action"] == "share.read" and e["source"] == f"export:{export['id']}"]
    assert sorted(e["seriesId"] for e in reads) == sorted(granted)  # one per series, over the whole grant
    assert {(e["from"], e["to"], e["outcome"], e["resolution"]) for e in reads} == {
        (ts(start), ts(end), "ok", None)
    }
    assert {e["actor"].split(":")[0] for e in log if e["action"] != "share.grant"} == {"user"}
    assert refusal(await a_owner.query(f'{{ export(id: "{export["id"]}") {{ id }} }}'))[0] == "NOT_FOUND"
    assert export["id"] not in {e["id"] for e in data(await a_owner.query("{ exports { id } }"))["exports"]}
    assert (await a_owner.http.get(export["downloadUrl"])).status_code == 404


async def test_an_hour_grant_exports_the_buckets_shared_aggregate_returns(world, admin_url, tmp_path):
    a, b, a_owner, b_owner = world["a"], world["b"], world["a_owner"], world["b_owner"]
    series, start, end = a.series_ids[2], BASE_NS, BASE_NS + 3 * HOUR_NS
    made = await grant(a_owner, **grant_input(b.id, [series], start, end, granularity="HOUR"))

    export = await export_grant(b_owner, made["id"])
    assert export["state"] == "DONE", export
    manifest, files = read_package(await download(b_owner, export, tmp_path))
    assert (manifest["grant"]["level"], manifest["grant"]["bucket_ns"]) == ("hour", HOUR_NS)
    assert manifest["totals"] == {"assets": 3, "series": 1, "buckets": 3}
    assert sorted(files) == [f"aggregates/{series}.parquet", "assets.json", "series.json"]
    entry = next(e for e in manifest["contents"] if e["kind"] == "aggregates")
    assert (entry["series_id"], entry["bucket_ns"], entry["rows"]) == (series, HOUR_NS, 3)
    rows = parquet(files[f"aggregates/{series}.parquet"]).to_pylist()
    shared = data(await shared_aggregate(b_owner, made["id"], series, start, end, "1h"))["sharedAggregate"]
    assert [
        {"start": ts(r["start_ns"]), **{k: r[k] for k in ("count", "min", "max", "sum", "avg")}} for r in rows
    ] == shared
    assert [r["count"] for r in rows] == [360, 360, 360]

    with pytest.raises(PackageError) as refused:
        await run_import(tmp_path / f"{export['id']}.zip", uuid.uuid4(), Env({"SF_DATABASE_URL": admin_url}))
    assert refused.value.reason == "AGGREGATES_NOT_IMPORTABLE" and refused.value.file == entry["path"]


async def test_a_revoked_grant_is_refused_and_its_package_no_longer_served(world, tmp_path):
    a, c, a_owner, c_owner = world["a"], world["c"], world["a_owner"], world["c_owner"]
    made = await grant(a_owner, **grant_input(c.id, [a.series_ids[0]], BASE_NS, BASE_NS + HOUR_NS))
    export = await export_grant(c_owner, made["id"])
    assert export["state"] == "DONE", export
    assert data(await a_owner.query(REVOKE, id=made["id"]))["revokeGrant"]["errors"] == []

    assert refusal(await c_owner.query(EXPORT_GRANT, grant=made["id"])) == ("FORBIDDEN", "GRANT_REVOKED")
    response = await c_owner.http.get(export["downloadUrl"])
    assert response.status_code == 403 and "revoked" in response.text
    log = data(await a_owner.query(ACCESSES, grant=made["id"]))["grantAccessLog"]["accesses"]
    denied = [(e["exportStage"], e["reason"]) for e in log if e["outcome"] == "denied"]
    assert denied == [("download", "GRANT_REVOKED"), ("request", "GRANT_REVOKED")]


async def test_another_tenants_grant_is_not_found(world):
    a, c = world["a"], world["c"]
    made = await grant(world["a_owner"], **grant_input(c.id, [a.series_ids[1]], BASE_NS, BASE_NS + HOUR_NS))
    for stranger in (world["b_owner"], world["a_owner"]):  # another tenant, and the grantor itself
        payload = data(await stranger.query(EXPORT_GRANT, grant=made["id"]))["exportGrant"]
        assert payload["export"] is None and [e["code"] for e in payload["errors"]] == ["GRANT_NOT_FOUND"]
    log = data(await world["a_owner"].query(ACCESSES, grant=made["id"]))["grantAccessLog"]["accesses"]
    assert [e["action"] for e in log] == ["share.grant"]  # nothing reached the grant: nothing to audit


class RevokingReads:
    """The worker's real reads of a grant's data, with the grant revoked by its grantor right after the first
    page is read: the revocation lands in the middle of the export, between two series."""

    def __init__(self, reads: QueryService, revoke) -> None:
        self._reads = reads
        self._revoke = revoke

    async def authorized_page(self, *args):
        page = await self._reads.authorized_page(*args)
        await self._revoke()
        return page

    async def authorized_buckets(self, *args):
        return await self._reads.authorized_buckets(*args)


async def test_a_revocation_during_the_export_fails_it_and_publishes_nothing(
    stack, signer, world, admin_url, tmp_path
):
    """The worker's exporter with the real tenancy and database, on an export row of B's that no worker of the
    stack has queued: the grant is revoked after the first series is read, so the second read is refused."""
    a, b, a_owner, b_owner = world["a"], world["b"], world["a_owner"], world["b_owner"]
    start, end = BASE_NS + 5 * HOUR_NS // 2, BASE_NS + 3 * HOUR_NS
    made = await grant(a_owner, **grant_input(b.id, a.series_ids[:2], start, end))
    grantee, export_id = uuid.UUID(str(b.id)), uuid.uuid4()

    async def revoke() -> None:
        assert data(await a_owner.query(REVOKE, id=made["id"]))["revokeGrant"]["errors"] == []

    db = Database(role_url(admin_url, "sf_worker", None), max_size=2)
    await db.open()
    try:
        cells = CellDatabases(db, {}, "sf-worker-test")
        async with cells.tenant(grantee, DEFAULT_CELL) as conn:
            await export_storage.insert(
                conn, grantee, export_id, False, f"user:{uuid.uuid4()}", uuid.UUID(made["id"])
            )
        async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
            identity = CallerIdentity(signer)
            tenancy = tenancy_pb2_grpc.TenancyServiceStub(channel)
            reads = QueryService(cells, SeriesDirectory(tenancy, identity, "worker"))
            checks = TenancyGrantChecks(sharing_pb2_grpc.SharingServiceStub(channel), identity)
            packages = GrantPackages(checks, RevokingReads(reads, revoke))
            exporter = Exporter(cells, TenancyCatalog(tenancy, identity), packages, tmp_path)
            assert await exporter.run(ExportJob(DEFAULT_CELL, grantee, export_id))
    finally:
        await db.close()

    found = data(await b_owner.query(f'{{ export(id: "{export_id}") {{ {EXPORT_FIELDS} }} }}'))["export"]
    assert (found["state"], found["seriesDone"], found["downloadUrl"]) == ("FAILED", 1, None)
    assert found["error"].startswith(f"GRANT_REVOKED: grant {made['id']} was revoked at"), found
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]  # nothing published, nothing left behind
    assert (await b_owner.http.get(f"/exports/{export_id}/package")).status_code == 409
    log = data(await a_owner.query(ACCESSES, grant=made["id"]))["grantAccessLog"]["accesses"]
    mine = [e for e in reversed(log) if e["source"] == f"export:{export_id}"]
    assert [(e["action"], e["exportStage"], e["outcome"], e["reason"]) for e in mine] == [
        ("share.export", "write", "ok", None),
        ("share.read", None, "ok", None),
        ("share.read", None, "denied", "GRANT_REVOKED"),
    ]
