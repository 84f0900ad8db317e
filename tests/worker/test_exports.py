"""Exports and imports (docs/DATA-MODEL.md), end to end with the real stack: a tenant's data sent through
ingest, exported by the worker through GraphQL, downloaded over HTTP, imported with `sf import` into a
second tenant: every point equal bit for bit (NaN payloads, -0.0, infinities, subnormals), the same tree.
A tampered package is refused naming the file, with nothing imported; another tenant can neither start,
follow nor download an export; a cancelled tenant still exports in its grace period."""

from __future__ import annotations

import asyncio
import json
import uuid
import zipfile
from pathlib import Path

import grpc
import httpx
import numpy as np
import pytest

from services.exchange.package import PackageError
from services.runtime.blocks import BLOCK_SPAN_NS
from services.runtime.config import Env
from sf.cli import main
from sf.imports import run_import
from sfcloud.v1 import tenancy_pb2 as pb
from sfcloud.v1 import tenancy_pb2_grpc
from tests.control_plane import OPERATOR, Tenancy
from tests.e2e.provision import GraphQLClient, create_tenant
from tests.worker.conftest import closed_hour, send_in_batches, stored_points

EXPORT_FIELDS = "id state pointsDone pointsTotal seriesDone seriesTotal bytes sha256 error downloadUrl"
SPECIAL_BITS = [
    0x7FF8000000000001,  # quiet NaN with a payload
    0xFFF8DEADBEEF0001,  # negative NaN with another payload
    0x7FF0000000000001,  # signalling NaN
    0x8000000000000000,  # -0.0
    0x7FF0000000000000,  # +inf
    0xFFF0000000000000,  # -inf
    0x0000000000000001,  # the smallest subnormal
]


def points(seed: int, hours: int = 5, per_hour: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    """Points over ``hours`` closed hours, with the special values scattered through them."""
    rng = np.random.default_rng(seed)
    start = closed_hour(hours + 2) * BLOCK_SPAN_NS
    step = BLOCK_SPAN_NS // per_hour
    timestamps = start + np.arange(hours * per_hour, dtype=np.int64) * step + seed
    values = np.round(rng.normal(60, 5, timestamps.size), 3)
    bits = values.view(np.uint64)
    for i, special in enumerate(SPECIAL_BITS):
        bits[rng.choice(timestamps.size, 20, replace=False)] = special + (i if special >> 52 == 0x7FF else 0)
    return timestamps, bits.view(np.float64)


@pytest.fixture
async def source(stack, signer):
    """A tenant with three series of 15,000 points each, sent in batches of 2,000 (many blocks)."""
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Export source", series_count=3)
    sent = {}
    for i, series_id in enumerate(tenant.series_ids):
        timestamps, values = points(seed=i + 1)
        await send_in_batches(stack, tenant, series_id, timestamps, values, per_batch=2000)
        sent[series_id] = (timestamps, values)
    return tenant, sent


async def export_done(client: GraphQLClient, started: dict) -> dict:
    export_id = started["data"]["startExport"]["id"]
    for _ in range(300):
        found = (await client.query(f'{{ export(id: "{export_id}") {{ {EXPORT_FIELDS} }} }}'))["data"][
            "export"
        ]
        if found["state"] in ("DONE", "FAILED"):
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"export {export_id} did not finish: {found}")


async def export_package(stack, tenant, folder: Path) -> tuple[dict, Path]:
    """The tenant's owner exports through GraphQL and downloads the package over HTTP."""
    client = await GraphQLClient.login(stack.gateway_url, tenant.owner_email, tenant.owner_password)
    try:
        started = await client.query(f"mutation {{ startExport {{ {EXPORT_FIELDS} }} }}")
        assert started["data"]["startExport"]["state"] == "QUEUED", started
        export = await export_done(client, started)
        assert export["state"] == "DONE", export
        response = await client.http.get(export["downloadUrl"])
        assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
        path = folder / f"{export['id']}.zip"
        path.write_bytes(response.content)
        return export, path
    finally:
        await client.close()


def assert_same_points(admin_conn, old_id, new_id, sent=None) -> None:
    old_ts, old_values = stored_points(admin_conn, old_id)
    new_ts, new_values = stored_points(admin_conn, new_id)
    assert np.array_equal(old_ts, new_ts)
    assert np.array_equal(old_values.view(np.uint64), new_values.view(np.uint64))
    if sent is not None:
        assert np.array_equal(sent[0], new_ts)
        assert np.array_equal(sent[1].view(np.uint64), new_values.view(np.uint64))


async def tree(stack, signer, tenant_id) -> tuple[list, list]:
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
        tenancy = Tenancy(tenancy_pb2_grpc.TenancyServiceStub(channel), signer)
        owner = tenancy.owner_of(pb.Tenant(id=str(tenant_id)))
        assets = (await tenancy.call("ListAssets", pb.ListAssetsRequest(), owner)).assets
        series = (await tenancy.call("ListSeries", pb.ListSeriesRequest(), owner)).series
    return list(assets), list(series)


async def empty_tenant(tenancy) -> uuid.UUID:
    """A new tenant with nothing in it (no plant: site names are unique within a tenant)."""
    return uuid.UUID((await tenancy.tenant(OPERATOR))[0].id)


async def test_export_import_round_trip_bit_exact(
    stack, signer, tenancy, source, admin_url, admin_conn, tmp_path
):
    tenant, sent = source
    export, path = await export_package(stack, tenant, tmp_path)
    assert export["pointsDone"] == export["pointsTotal"] == 45_000 and export["seriesDone"] == 3
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["format"] == "sfcloud-export" and manifest["tenant"]["id"] == str(tenant.id)
    assert manifest["totals"] == {"assets": 3, "series": 3, "points": 45_000}
    target = await empty_tenant(tenancy)
    report = await run_import(path, target, Env({"SF_DATABASE_URL": admin_url}))
    assert report.points == 45_000 and not report.resumed
    for old, new in report.series.items():
        assert_same_points(admin_conn, old, new, sent[str(old)])
    sizes = admin_conn.execute(
        "SELECT count, start_ns / %s = end_ns / %s FROM telemetry.blocks WHERE tenant_id = %s",
        [BLOCK_SPAN_NS, BLOCK_SPAN_NS, target],
    ).fetchall()
    assert len(sizes) == report.blocks == 15 and all(n <= 4096 and one_hour for n, one_hour in sizes)
    old_assets, old_series = await tree(stack, signer, tenant.id)
    new_assets, new_series = await tree(stack, signer, target)
    imported = {str(v) for v in report.assets.values()}

    def shape(assets, mapping):
        return {
            (mapping.get(a.id, a.id), mapping.get(a.parent_id, a.parent_id), a.kind, a.name) for a in assets
        }

    mapping = {str(k): str(v) for k, v in report.assets.items()}
    assert shape(old_assets, mapping) == shape([a for a in new_assets if a.id in imported], {})
    renamed = {str(k): str(v) for k, v in report.series.items()}
    assert {
        (renamed[s.id], mapping[s.machine_id], s.name, s.unit, s.kind, s.decimals) for s in old_series
    } == {(s.id, s.machine_id, s.name, s.unit, s.kind, s.decimals) for s in new_series}
    latest = admin_conn.execute(
        "SELECT count(*) FROM telemetry.series_latest WHERE tenant_id = %s", [target]
    ).fetchone()[0]
    assert latest == 3
    again = await run_import(path, target, Env({"SF_DATABASE_URL": admin_url}))
    assert again.resumed and again.points == 0 and again.series == report.series
    assert (
        admin_conn.execute(
            "SELECT sum(count) FROM telemetry.blocks WHERE tenant_id = %s", [target]
        ).fetchone()[0]
        == 45_000
    )


async def test_tampered_package_is_refused_naming_the_file(
    stack, signer, tenancy, source, admin_url, admin_conn, tmp_path
):
    tenant, _ = source
    _, path = await export_package(stack, tenant, tmp_path)
    folder = tmp_path / "unpacked"
    with zipfile.ZipFile(path) as archive:
        archive.extractall(folder)
    victim = sorted((folder / "points").glob("*.parquet"))[1]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    target = await empty_tenant(tenancy)
    before = await tree(stack, signer, target)
    with pytest.raises(PackageError) as refused:
        await run_import(folder, target, Env({"SF_DATABASE_URL": admin_url}))
    assert refused.value.file == f"points/{victim.name}" and refused.value.reason == "CHECKSUM_MISMATCH"
    assert victim.name in refused.value.message
    assert await tree(stack, signer, target) == before
    blocks = admin_conn.execute("SELECT count(*) FROM telemetry.blocks WHERE tenant_id = %s", [target])
    assert blocks.fetchone()[0] == 0
    (folder / "notes.txt").write_text("not in the manifest")
    victim.unlink()
    with pytest.raises(PackageError) as unlisted:
        await run_import(folder, target, Env({"SF_DATABASE_URL": admin_url}))
    assert unlisted.value.file == "notes.txt"


async def test_another_tenant_cannot_start_follow_or_download(stack, signer, source, tmp_path):
    tenant, _ = source
    export, _ = await export_package(stack, tenant, tmp_path)
    other = await create_tenant(stack.targets["tenancy"], signer, "Export other", series_count=0)
    client = await GraphQLClient.login(stack.gateway_url, other.owner_email, other.owner_password)
    try:
        followed = await client.query(f'{{ export(id: "{export["id"]}") {{ state pointsDone }} }}')
        assert followed["data"] is None and followed["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        listed = await client.query("{ exports { id } }")
        assert listed["data"]["exports"] == []
        download = await client.http.get(export["downloadUrl"])
        assert download.status_code == 404 and tenant.owner_email not in download.text
        own = await client.query("mutation { startExport { id state } }")
        assert own["data"]["startExport"]["id"] != export["id"]  # B may export B, and only B
    finally:
        await client.close()
    async with httpx.AsyncClient(base_url=stack.gateway_url) as anonymous:
        assert (await anonymous.get(export["downloadUrl"])).status_code == 401
        refused = (await anonymous.post("/graphql", json={"query": "mutation { startExport { id } }"})).json()
        assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def viewer_of(stack, tenancy, tenant) -> GraphQLClient:
    """A new viewer of the tenant, signed in."""
    email = f"viewer-{uuid.uuid4().hex[:8]}@example.com"
    await tenancy.provision(
        tenant.id,
        pb.CreateUserRequest(email=email, password="viewer-password", display_name="V", role=pb.ROLE_VIEWER),
    )
    return await GraphQLClient.login(stack.gateway_url, email, "viewer-password")


async def test_a_viewer_may_not_export(stack, signer, tenancy, source):
    tenant, _ = source
    client = await viewer_of(stack, tenancy, tenant)
    try:
        refused = await client.query("mutation { startExport { id } }")
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    finally:
        await client.close()


async def test_request_export_answers_the_export_and_leaves_refusals_errors(stack, signer, tenancy, source):
    """requestExport answers the export started with no user errors. A Boolean is its only argument, so
    no input of it is a mistake; who may export stays a FORBIDDEN error, as for every payload."""
    tenant, _ = source
    client = await GraphQLClient.login(stack.gateway_url, tenant.owner_email, tenant.owner_password)
    try:
        started = await client.query(
            "mutation { requestExport(withCsv: true) { export { state withCsv } errors { code } } }"
        )
        assert started["data"]["requestExport"] == {
            "export": {"state": "QUEUED", "withCsv": True},
            "errors": [],
        }
    finally:
        await client.close()
    viewer = await viewer_of(stack, tenancy, tenant)
    try:
        refused = await viewer.query("mutation { requestExport { export { id } errors { code } } }")
        assert refused["data"] is None and refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    finally:
        await viewer.close()


async def test_a_cancelled_tenant_exports_in_its_grace_period(stack, tenancy, source, admin_conn, tmp_path):
    tenant, _ = source
    await tenancy.call(
        "SetSubscriptionState",
        pb.SetSubscriptionStateRequest(tenant_id=str(tenant.id), state=pb.SUBSCRIPTION_STATE_CANCELLED),
        OPERATOR,
    )
    grace = admin_conn.execute(
        "SELECT state, purge_after > now() FROM tenancy.subscriptions WHERE tenant_id = %s", [tenant.id]
    ).fetchone()
    assert grace == ("cancelled", True)
    export, path = await export_package(stack, tenant, tmp_path)
    assert export["pointsDone"] == 45_000 and zipfile.is_zipfile(path)


async def test_the_sf_import_command(stack, tenancy, source, admin_url, monkeypatch, capsys, tmp_path):
    """`sf import`: a tampered package exits 1 naming the file; the intact one imports and writes the mapping."""
    tenant, _ = source
    _, path = await export_package(stack, tenant, tmp_path)
    target = await empty_tenant(tenancy)
    folder = tmp_path / "unpacked"
    with zipfile.ZipFile(path) as archive:
        archive.extractall(folder)
    (folder / "series.json").write_text((folder / "series.json").read_text().replace("sensor_0", "sensor_9"))
    monkeypatch.setenv("SF_DATABASE_URL", admin_url)
    code = await asyncio.to_thread(main, ["import", str(folder), "--tenant", str(target)])
    assert code == 1 and "series.json: SHA-256 mismatch" in capsys.readouterr().err
    mapping = tmp_path / "ids.json"
    code = await asyncio.to_thread(
        main, ["import", str(path), "--tenant", str(target), "--mapping", str(mapping)]
    )
    assert code == 0 and "45000 points" in capsys.readouterr().out
    assert set(json.loads(mapping.read_text())["series"]) == set(tenant.series_ids)
