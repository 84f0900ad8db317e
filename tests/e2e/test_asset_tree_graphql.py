"""The asset tree edited through GraphQL as a tenant's owner does it in the web app: a small plant built
site → area → line → machine → series, renamed, moved and taken apart again, each step seen in `assets` and
`machines`; the input mistakes answered as typed user errors beside their field; a viewer and a key refused.
And the supplier side of the control plane: a tenant that moves supplier changes `tenants` lists, a
supplier's billing export, the operator registering an AI-analysis partner a tenant may then grant to."""

from __future__ import annotations

import csv
import io
import secrets
import time
import uuid

import grpc
import httpx

from sf.seeding import create_api_key, create_tenant
from sfcloud.v1 import tenancy_pb2 as pb
from sfcloud.v1 import tenancy_pb2_grpc
from tests.control_plane import Tenancy
from tests.e2e.provision import GraphQLClient
from tests.programme.helpers import operator_client
from tests.support.helpers import data, error_codes, owner_client, supplier

ERRORS = "errors { field code message }"
CREATE_ASSET = (
    "mutation($kind: AssetKind!, $name: String!, $parent: ID) {"
    f" createAsset(kind: $kind, name: $name, parentId: $parent) {{ asset {{ id parentId kind name }} {ERRORS} }} }}"
)
UPDATE_ASSET = (
    "mutation($id: ID!, $name: String, $parent: ID) { updateAsset(id: $id, name: $name, parentId: $parent)"
    f" {{ asset {{ id parentId kind name }} {ERRORS} }} }}"
)
DELETE_ASSET = f"mutation($id: ID!) {{ deleteAsset(id: $id) {{ deleted {ERRORS} }} }}"
CREATE_SERIES = (
    "mutation($input: CreateSeriesInput!) { createSeries(input: $input) {"
    f" series {{ id machineId name unit kind decimals latest {{ value }} }} {ERRORS} }} }}"
)
DELETE_SERIES = f"mutation($id: ID!) {{ deleteSeries(id: $id) {{ deleted {ERRORS} }} }}"
TREE = "{ assets { id parentId kind name } machines { id name line site series { id name } } }"


async def _asset(client: GraphQLClient, kind: str, name: str, parent: str | None = None) -> dict:
    payload = data(await client.query(CREATE_ASSET, kind=kind, name=name, parent=parent))["createAsset"]
    assert payload["errors"] == [], payload
    return payload["asset"]


async def _series(client: GraphQLClient, machine: str, name: str, **more) -> dict:
    asked = {"machineId": machine, "name": name, "kind": "GAUGE", **more}
    payload = data(await client.query(CREATE_SERIES, input=asked))["createSeries"]
    assert payload["errors"] == [], payload
    return payload["series"]


async def test_an_owner_builds_renames_and_takes_apart_a_plant(stack, signer):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Plant builder", series_count=1)
    client = await owner_client(stack, tenant)
    try:
        site = await _asset(client, "SITE", "Busan plant")
        area = await _asset(client, "AREA", "Hall B", site["id"])
        line = await _asset(client, "LINE", "Press line", area["id"])
        press = await _asset(client, "MACHINE", "Press 1", line["id"])
        assert (site["parentId"], area["kind"], press) == (
            None,
            "area",
            {"id": press["id"], "parentId": line["id"], "kind": "machine", "name": "Press 1"},
        )
        force = await _series(client, press["id"], "ram_force", unit="kN", decimals=1)
        assert (force["unit"], force["kind"], force["decimals"], force["latest"]) == ("kN", "gauge", 1, None)
        stroke = await _series(client, press["id"], "strokes", kind="COUNTER")

        tree = data(await client.query(TREE))
        machine = next(m for m in tree["machines"] if m["id"] == press["id"])
        assert (machine["line"], machine["site"]) == ("Press line", "Busan plant")
        assert {s["name"] for s in machine["series"]} == {"ram_force", "strokes"}

        renamed = data(await client.query(UPDATE_ASSET, id=press["id"], name="Press 1 (servo)"))[
            "updateAsset"
        ]
        assert renamed["asset"]["name"] == "Press 1 (servo)" and renamed["errors"] == []
        moved = data(await client.query(UPDATE_ASSET, id=line["id"], parent=site["id"]))["updateAsset"]
        assert moved["asset"] == {**line, "parentId": site["id"]}  # the name stays when left out

        gone = data(await client.query(DELETE_SERIES, id=stroke["id"]))["deleteSeries"]
        assert gone == {"deleted": True, "errors": []}
        tree = data(await client.query(TREE))
        machine = next(m for m in tree["machines"] if m["id"] == press["id"])
        assert machine["name"] == "Press 1 (servo)" and [s["name"] for s in machine["series"]] == [
            "ram_force"
        ]
        assert data(await client.query("query($id: ID!) { series(ids: [$id]) { id } }", id=stroke["id"])) == {
            "series": []
        }
        assert {a["id"]: a["parentId"] for a in tree["assets"]}[line["id"]] == site["id"]

        full = data(await client.query(DELETE_ASSET, id=press["id"]))["deleteAsset"]
        assert full["deleted"] is False and [e["code"] for e in full["errors"]] == ["ASSET_NOT_EMPTY"]
        assert data(await client.query(DELETE_SERIES, id=force["id"]))["deleteSeries"]["deleted"]
        for node in (press, line, area, site):
            assert data(await client.query(DELETE_ASSET, id=node["id"]))["deleteAsset"] == {
                "deleted": True,
                "errors": [],
            }
        left = data(await client.query(TREE))
        ours = {site["id"], area["id"], line["id"], press["id"]}
        assert not ours & {a["id"] for a in left["assets"]} and press["id"] not in {
            m["id"] for m in left["machines"]
        }
        again = data(await client.query(DELETE_SERIES, id=force["id"]))["deleteSeries"]
        assert again["deleted"] is False and [e["code"] for e in again["errors"]] == ["SERIES_NOT_FOUND"]
    finally:
        await client.close()


async def test_mistakes_are_user_errors_beside_their_field(stack, signer):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Careless builder", series_count=1)
    client = await owner_client(stack, tenant)

    async def refused(document: str, name: str, /, **variables) -> list[tuple]:
        payload = data(await client.query(document, **variables))[name]
        assert next(value for key, value in payload.items() if key != "errors") in (None, False), payload
        return [(e["field"], e["code"]) for e in payload["errors"]]

    try:
        site = await _asset(client, "SITE", "Daegu plant")
        line = await _asset(client, "LINE", "Line A", site["id"])
        machine = await _asset(client, "MACHINE", "Lathe", line["id"])
        assert await refused(CREATE_ASSET, "createAsset", kind="LINE", name="  ", parent=site["id"]) == [
            ("name", "INVALID_ARGUMENT")
        ]
        assert await refused(
            CREATE_ASSET, "createAsset", kind="LINE", name="L", parent=str(uuid.uuid4())
        ) == [(None, "PARENT_NOT_FOUND")]
        assert await refused(CREATE_ASSET, "createAsset", kind="MACHINE", name="M", parent=site["id"]) == [
            ("parentId", "INVALID_ARGUMENT")
        ]  # a machine sits under a line
        assert await refused(CREATE_ASSET, "createAsset", kind="AREA", name="A") == [
            ("parentId", "INVALID_ARGUMENT")
        ]  # only a site stands at the root
        assert await refused(CREATE_ASSET, "createAsset", kind="LINE", name="Line A", parent=site["id"]) == [
            (None, "DUPLICATE_NAME")
        ]
        assert await refused(CREATE_ASSET, "createAsset", kind="SITE", name="S", parent="not-an-id") == [
            ("parentId", "INVALID_ARGUMENT")
        ]
        assert await refused(UPDATE_ASSET, "updateAsset", id=machine["id"], name="") == [
            ("name", "INVALID_ARGUMENT")
        ]
        assert await refused(UPDATE_ASSET, "updateAsset", id=line["id"], parent=machine["id"]) == [
            ("parentId", "INVALID_ARGUMENT")
        ]
        assert await refused(UPDATE_ASSET, "updateAsset", id=str(uuid.uuid4()), name="X") == [
            (None, "ASSET_NOT_FOUND")
        ]
        bad_series = [
            (
                {"machineId": machine["id"], "name": "Spindle Temp", "kind": "GAUGE"},
                ("name", "INVALID_ARGUMENT"),
            ),
            (
                {"machineId": machine["id"], "name": "t", "kind": "GAUGE", "decimals": -1},
                ("decimals", "INVALID_ARGUMENT"),
            ),
            ({"machineId": line["id"], "name": "t", "kind": "GAUGE"}, (None, "MACHINE_NOT_FOUND")),
            ({"machineId": "nope", "name": "t", "kind": "GAUGE"}, ("machineId", "INVALID_ARGUMENT")),
        ]
        for asked, expected in bad_series:
            assert await refused(CREATE_SERIES, "createSeries", input=asked) == [expected], asked
        await _series(client, machine["id"], "spindle_temp")
        duplicate = {"machineId": machine["id"], "name": "spindle_temp", "kind": "STATE"}
        assert await refused(CREATE_SERIES, "createSeries", input=duplicate) == [(None, "DUPLICATE_NAME")]
        unknown_kind = await client.query(CREATE_SERIES, input={**duplicate, "kind": "VOLTAGE"})
        assert error_codes(unknown_kind) == {"BAD_USER_INPUT"}  # the schema's enum refuses it
    finally:
        await client.close()


async def test_a_viewer_and_an_api_key_may_read_the_tree_but_not_edit_it(stack, signer):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Watched plant", series_count=1)
    email, password = f"viewer-{secrets.token_hex(4)}@sme.example", secrets.token_urlsafe(16)
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
        tenancy = Tenancy(tenancy_pb2_grpc.TenancyServiceStub(channel), signer)
        owner = tenancy.owner_of(pb.Tenant(id=str(tenant.id)))
        request = pb.CreateUserRequest(email=email, password=password, display_name="V", role=pb.ROLE_VIEWER)
        await tenancy.provision(owner.tenant_id, request)
    key = await create_api_key(stack.targets["tenancy"], signer, tenant.id, ["read", "write"])
    viewer = await GraphQLClient.login(stack.gateway_url, email, password)
    edits = [
        (CREATE_ASSET, {"kind": "LINE", "name": "Viewer line"}),
        (UPDATE_ASSET, {"id": tenant.machine_id, "name": "Viewer's"}),
        (DELETE_ASSET, {"id": tenant.machine_id}),
        (CREATE_SERIES, {"input": {"machineId": tenant.machine_id, "name": "v", "kind": "GAUGE"}}),
        (DELETE_SERIES, {"id": tenant.series_ids[0]}),
    ]
    try:
        assert data(await viewer.query(TREE))["machines"]
        for document, variables in edits:
            assert error_codes(await viewer.query(document, **variables)) == {"FORBIDDEN"}, document
            async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as http:
                by_key = await http.post(
                    "/graphql",
                    json={"query": document, "variables": variables},
                    headers={"authorization": f"Bearer {key}"},
                )
            assert error_codes(by_key.json()) == {"FORBIDDEN"}, document
        tree = data(await viewer.query(TREE))
        machine = next(m for m in tree["machines"] if m["id"] == tenant.machine_id)
        assert machine["name"] == "M-1" and [s["id"] for s in machine["series"]] == tenant.series_ids
    finally:
        await viewer.close()


TENANT_IDS = "{ tenants(first: 200) { nodes { id supplierId } } }"


async def test_a_tenant_that_moves_supplier_moves_between_their_tenant_lists(stack, signer):
    old, new = await supplier(stack, signer, "Old S"), await supplier(stack, signer, "New T")
    tenant = await create_tenant(
        stack.targets["tenancy"], signer, "Mover", series_count=1, supplier_id=old.id
    )
    owner = await owner_client(stack, tenant)
    try:
        assert str(tenant.id) in {
            t["id"] for t in data(await old.client.query(TENANT_IDS))["tenants"]["nodes"]
        }
        asked = data(
            await owner.query(
                'mutation($to: ID!) { requestSupplier(supplierId: $to, message: "Closer to us") { requestId errors { code } } }',
                to=new.id,
            )
        )["requestSupplier"]
        assert asked["errors"] == [] and str(tenant.id) not in {
            t["id"] for t in data(await new.client.query(TENANT_IDS))["tenants"]["nodes"]
        }  # asking moves nothing yet
        accepted = data(
            await new.client.query(
                "mutation($id: ID!) { acceptSupplierRequest(id: $id) { done errors { code } } }",
                id=asked["requestId"],
            )
        )["acceptSupplierRequest"]
        assert accepted == {"done": True, "errors": []}
        theirs = data(await new.client.query(TENANT_IDS))["tenants"]["nodes"]
        assert {"id": str(tenant.id), "supplierId": new.id} in theirs
        assert str(tenant.id) not in {
            t["id"] for t in data(await old.client.query(TENANT_IDS))["tenants"]["nodes"]
        }
        record = data(
            await owner.query("query($id: ID!) { tenant(id: $id) { supplierId } }", id=str(tenant.id))
        )
        assert record == {"tenant": {"supplierId": new.id}}
    finally:
        for client in (owner, old.client, new.client):
            await client.close()


async def test_a_supplier_exports_its_months_billing_and_nobody_elses(stack, signer):
    mine, theirs = await supplier(stack, signer, "Billing S"), await supplier(stack, signer, "Billing T")
    tenant = await create_tenant(
        stack.targets["tenancy"], signer, "Billed", series_count=1, supplier_id=mine.id
    )
    owner = await owner_client(stack, tenant)
    month = time.strftime("%Y-%m", time.gmtime())
    document = "query($month: String!) { billingCsv(month: $month) }"
    try:
        rows = list(
            csv.DictReader(io.StringIO(data(await mine.client.query(document, month=month))["billingCsv"]))
        )
        assert [(r["tenant_id"], r["plan"]) for r in rows] == [(str(tenant.id), "standard")]
        assert int(rows[0]["price_krw"]) > 0 and rows[0]["state"] and rows[0]["points"] == "0"
        other = list(
            csv.DictReader(io.StringIO(data(await theirs.client.query(document, month=month))["billingCsv"]))
        )
        assert other == []
        assert error_codes(await owner.query(document, month=month)) == {"FORBIDDEN"}
        assert error_codes(await mine.client.query(document, month="November")) == {"BAD_USER_INPUT"}
    finally:
        for client in (owner, mine.client, theirs.client):
            await client.close()


SET_PARTNER = (
    "mutation($id: ID!, $on: Boolean!) { setAnalysisPartner(supplierId: $id, partner: $on)"
    f" {{ supplierId partner {ERRORS} }} }}"
)
GRANT = (
    "mutation($to: ID!, $series: ID!) { grantData(input: {granteeKind: SUPPLIER, granteeId: $to,"
    ' seriesIds: [$series], from: "2026-01-01T00:00:00Z", to: "2027-01-01T00:00:00Z", granularity: HOUR,'
    ' purpose: "vibration analysis", expiresAt: "2099-01-01T00:00:00Z"}) { grant { granteeIsPartner } errors { code } } }'
)


async def test_the_operator_registers_an_analysis_partner_a_tenant_may_then_grant_to(stack, signer):
    analyst = await supplier(stack, signer, "AI analyst")
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Sharer", series_count=1)
    operator, owner = await operator_client(stack), await owner_client(stack, tenant)
    try:
        before = data(await owner.query(GRANT, to=analyst.id, series=tenant.series_ids[0]))["grantData"]
        assert before == {"grant": None, "errors": [{"code": "GRANTEE_NOT_ELIGIBLE"}]}
        assert error_codes(await analyst.client.query(SET_PARTNER, id=analyst.id, on=True)) == {"FORBIDDEN"}
        assert error_codes(await owner.query(SET_PARTNER, id=analyst.id, on=True)) == {"FORBIDDEN"}
        unknown = data(await operator.query(SET_PARTNER, id=str(uuid.uuid4()), on=True))["setAnalysisPartner"]
        assert (unknown["partner"], [e["code"] for e in unknown["errors"]]) == (None, ["SUPPLIER_NOT_FOUND"])

        registered = data(await operator.query(SET_PARTNER, id=analyst.id, on=True))["setAnalysisPartner"]
        assert registered == {"supplierId": analyst.id, "partner": True, "errors": []}
        after = data(await owner.query(GRANT, to=analyst.id, series=tenant.series_ids[0]))["grantData"]
        assert after == {"grant": {"granteeIsPartner": True}, "errors": []}
        ended = data(await operator.query(SET_PARTNER, id=analyst.id, on=False))["setAnalysisPartner"]
        assert ended["partner"] is False and ended["errors"] == []
    finally:
        for client in (operator, owner, analyst.client):
            await client.close()
