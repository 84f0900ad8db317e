"""Consent-based data sharing end to end through GraphQL with the real stack (docs/SHARING.md): a grant lets
exactly its series, time range and level through and nothing else, revocation and expiry stop the next read,
the grantor sees every read in the grant's log, and bad grants are refused with clear codes."""

from __future__ import annotations

import asyncio
import time

import grpc
import httpx
import pytest

from sf.seeding import create_api_key, create_tenant, send_batches
from sfcloud.v1 import sharing_pb2, sharing_pb2_grpc
from tests.control_plane import OPERATOR, Tenancy
from tests.e2e.test_bad_input import batch
from tests.sharing.helpers import (
    ACCESS_LOG,
    DATA_GRANTS,
    GRANT_DATA,
    HOUR_NS,
    OWN_AGGREGATE,
    OWN_POINTS,
    REVOKE,
    SHARED_POINTS,
    SHARED_WITH_ME,
    STEP_NS,
    grant,
    grant_errors,
    grant_input,
    refusal,
    shared_aggregate,
    shared_points,
    ts,
)
from tests.support.helpers import data, owner_client, supplier

BASE_NS = (time.time_ns() // HOUR_NS - 4) * HOUR_NS  # whole hours: 4 h ago, and 3 h of points from there


@pytest.fixture(scope="module")
async def world(stack, signer):
    """Tenant A (resold by supplier S) with three series of 3 h of points; tenants B and C; partner P; T."""
    s = await supplier(stack, signer, "Share S")
    p = await supplier(stack, signer, "Partner P")
    t = await supplier(stack, signer, "Other T")
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
        sharing = Tenancy(sharing_pb2_grpc.SharingServiceStub(channel), signer)
        await sharing.call(
            "SetAnalysisPartner",
            sharing_pb2.SetAnalysisPartnerRequest(supplier_id=p.id, partner=True),
            OPERATOR,
        )
    target = stack.targets["tenancy"]
    a = await create_tenant(target, signer, "Share A", supplier_id=s.id)
    b, c = await create_tenant(target, signer, "Share B"), await create_tenant(target, signer, "Share C")
    stamps = list(range(BASE_NS, BASE_NS + 3 * HOUR_NS, STEP_NS))
    batches = [
        batch(series, stamps, [float(i + n) for n in range(len(stamps))], i + 1)
        for i, series in enumerate(a.series_ids)
    ]
    await send_batches(stack.targets["ingest"], a.credential, batches)
    clients = {
        "a": await owner_client(stack, a),
        "b": await owner_client(stack, b),
        "c": await owner_client(stack, c),
    }
    yield {"a": a, "b": b, "c": c, "s": s, "p": p, "t": t, **{f"{k}_owner": v for k, v in clients.items()}}
    for client in (*clients.values(), s.client, p.client, t.client):
        await client.close()


async def test_a_grant_lets_exactly_its_series_and_range_through(stack, signer, world):
    a, b, a_owner, b_owner = world["a"], world["b"], world["a_owner"], world["b_owner"]
    start, end = BASE_NS + HOUR_NS, BASE_NS + 2 * HOUR_NS
    made = await grant(a_owner, **grant_input(b.id, [a.series_ids[0]], start, end))
    listed = {g["id"]: g for g in data(await b_owner.query(SHARED_WITH_ME, ended=False))["sharedWithMe"]}
    assert (listed[made["id"]]["grantorTenantId"], listed[made["id"]]["series"]) == (
        str(a.id),
        [{"id": a.series_ids[0], "name": "sensor_0", "unit": "degC", "machine": "M-1"}],
    )

    inside = (start + 5 * 60 * 10**9, end - 5 * 60 * 10**9)
    shared = data(await shared_points(b_owner, made["id"], a.series_ids[0], *inside))["sharedPoints"]
    own = data(
        await a_owner.query(
            OWN_POINTS, series=a.series_ids[0], **{"from": ts(inside[0]), "to": ts(inside[1])}
        )
    )
    assert shared["timestamps"] == own["points"]["timestamps"] and len(shared["timestamps"]) == 300
    assert shared["values"] == own["points"]["values"]

    assert refusal(await shared_points(b_owner, made["id"], a.series_ids[1], start, end)) == (
        "NOT_FOUND",
        "SERIES_NOT_SHARED",
    )
    assert refusal(await shared_points(b_owner, made["id"], a.series_ids[0], start - STEP_NS, end)) == (
        "FORBIDDEN",
        "OUTSIDE_GRANT_RANGE",
    )
    assert refusal(await shared_points(b_owner, made["id"], a.series_ids[0], start, end + 1)) == (
        "FORBIDDEN",
        "OUTSIDE_GRANT_RANGE",
    )
    # Another tenant holding the grant's id, and the grantor itself, find no such grant to read under.
    for stranger in (world["c_owner"], a_owner):
        assert refusal(await shared_points(stranger, made["id"], a.series_ids[0], start, end)) == (
            "NOT_FOUND",
            "GRANT_NOT_FOUND",
        )
    # The grantee's own-tenant reads are unchanged: A's series is not one of B's.
    own_read = await b_owner.query(OWN_POINTS, series=a.series_ids[0], **{"from": ts(start), "to": ts(end)})
    assert refusal(own_read)[0] == "NOT_FOUND"


async def test_a_read_key_of_the_grantee_reads_and_an_ingest_key_does_not(stack, signer, world):
    a, b = world["a"], world["b"]
    start, end = BASE_NS + 2 * HOUR_NS, BASE_NS + 3 * HOUR_NS
    made = await grant(world["a_owner"], **grant_input(b.id, [a.series_ids[0]], start, end))
    variables = {"grant": made["id"], "series": a.series_ids[0], "from": ts(start), "to": ts(end)}
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as http:
        for scopes, expected in ((["read"], None), (["ingest"], "FORBIDDEN")):
            key = await create_api_key(stack.targets["tenancy"], signer, b.id, scopes)
            answer = (
                await http.post(
                    "/graphql",
                    json={"query": SHARED_POINTS, "variables": variables},
                    headers={"authorization": f"Bearer {key}"},
                )
            ).json()
            if expected is None:
                assert len(data(answer)["sharedPoints"]["timestamps"]) == 360
            else:
                assert refusal(answer)[0] == expected


async def test_the_aggregation_level_is_honoured(world):
    a, b, a_owner, b_owner = world["a"], world["b"], world["a_owner"], world["b_owner"]
    series, start, end = a.series_ids[1], BASE_NS, BASE_NS + 3 * HOUR_NS
    made = await grant(a_owner, **grant_input(b.id, [series], start, end, granularity="HOUR"))

    hourly = data(await shared_aggregate(b_owner, made["id"], series, start, end, "1h"))["sharedAggregate"]
    own = data(
        await a_owner.query(OWN_AGGREGATE, series=series, bucket="1h", **{"from": ts(start), "to": ts(end)})
    )
    assert hourly == [
        {k: bucket[k] for k in ("start", "count", "min", "max", "sum", "avg")} for bucket in own["aggregate"]
    ]
    assert [bucket["count"] for bucket in hourly] == [360, 360, 360]
    assert (
        len(data(await shared_aggregate(b_owner, made["id"], series, start, end, "3h"))["sharedAggregate"])
        >= 1
    )

    for finer in (
        shared_points(b_owner, made["id"], series, start, end),  # raw under an hour grant
        shared_aggregate(b_owner, made["id"], series, start, end, "1m"),  # minutes
        shared_aggregate(b_owner, made["id"], series, start, end, "90m"),  # not whole hours
        shared_aggregate(b_owner, made["id"], series, start + 60 * 10**9, end, "1h"),  # a partial first hour
    ):
        code, reason = refusal(await finer)
        assert (code, reason) == ("FORBIDDEN", "FINER_THAN_GRANT")


async def test_revocation_cuts_access_at_once(world):
    a, b, a_owner, b_owner = world["a"], world["b"], world["a_owner"], world["b_owner"]
    series, start, end = a.series_ids[2], BASE_NS, BASE_NS + HOUR_NS
    made = await grant(a_owner, **grant_input(b.id, [series], start, end))
    assert (
        len(data(await shared_points(b_owner, made["id"], series, start, end))["sharedPoints"]["timestamps"])
        == 360
    )

    revoked = data(await a_owner.query(REVOKE, id=made["id"]))["revokeGrant"]
    assert revoked["errors"] == [] and revoked["grant"]["revokedAt"] is not None
    assert refusal(await shared_points(b_owner, made["id"], series, start, end)) == (
        "FORBIDDEN",
        "GRANT_REVOKED",
    )
    assert made["id"] not in {
        g["id"] for g in data(await b_owner.query(SHARED_WITH_ME, ended=False))["sharedWithMe"]
    }
    ended = {g["id"]: g for g in data(await b_owner.query(SHARED_WITH_ME, ended=True))["sharedWithMe"]}
    assert ended[made["id"]]["revokedAt"] == revoked["grant"]["revokedAt"]
    assert made["id"] not in {
        g["id"] for g in data(await a_owner.query(DATA_GRANTS, ended=False))["dataGrants"]
    }


async def test_expiry_is_honoured(world):
    a, b, a_owner, b_owner = world["a"], world["b"], world["a_owner"], world["b_owner"]
    series, start, end = a.series_ids[2], BASE_NS + 2 * HOUR_NS, BASE_NS + 3 * HOUR_NS
    expires = time.time_ns() + 2 * 10**9
    made = await grant(a_owner, **grant_input(b.id, [series], start, end, expiresAt=ts(expires)))
    assert data(await shared_points(b_owner, made["id"], series, start, end))["sharedPoints"]["timestamps"]
    await asyncio.sleep((expires - time.time_ns()) / 1e9 + 0.2)
    assert refusal(await shared_points(b_owner, made["id"], series, start, end)) == (
        "FORBIDDEN",
        "GRANT_EXPIRED",
    )
    # An expired grant no longer overlaps: the same series and times may be granted again.
    again = await grant(a_owner, **grant_input(b.id, [series], start, end))
    assert data(await shared_points(b_owner, again["id"], series, start, end))["sharedPoints"]["timestamps"]


async def test_the_grantor_sees_every_access_grant_and_revocation(world):
    a, c, a_owner, c_owner = world["a"], world["c"], world["a_owner"], world["c_owner"]
    series, start, end = a.series_ids[0], BASE_NS, BASE_NS + 3 * HOUR_NS
    made = await grant(a_owner, **grant_input(c.id, [series], start, end, granularity="MINUTE"))
    await shared_aggregate(c_owner, made["id"], series, start, end, "5m")
    await shared_points(c_owner, made["id"], series, start, end)  # refused: raw under a minute grant
    await a_owner.query(REVOKE, id=made["id"])
    await shared_aggregate(c_owner, made["id"], series, start, end, "5m")  # refused: revoked

    log = data(await a_owner.query(ACCESS_LOG, grant=made["id"]))["grantAccessLog"]["accesses"]
    assert [(e["action"], e["outcome"], e["reason"], e["resolution"]) for e in log] == [
        ("share.read", "denied", "GRANT_REVOKED", "5m"),
        ("share.revoke", "ok", None, None),
        ("share.read", "denied", "FINER_THAN_GRANT", None),
        ("share.read", "ok", None, "5m"),
        ("share.grant", "ok", None, None),
    ]
    reads = [e for e in log if e["action"] == "share.read"]
    assert {e["actor"].split(":")[0] for e in reads} == {"user"} and {e["seriesId"] for e in reads} == {
        series
    }
    assert {(e["from"], e["to"]) for e in reads} == {(ts(start), ts(end))}
    assert all(e["source"] for e in reads)  # where the grantee called from
    # The grantee (and anyone else) cannot read the grantor's log.
    assert refusal(await c_owner.query(ACCESS_LOG, grant=made["id"]))[0] in {"NOT_FOUND", "FORBIDDEN"}


async def test_suppliers_partners_and_who_is_eligible(world):
    a, a_owner, s, p, t = world["a"], world["a_owner"], world["s"], world["p"], world["t"]
    start, end = BASE_NS, BASE_NS + HOUR_NS
    to_own_supplier = await grant(
        a_owner,
        **grant_input(s.id, [a.series_ids[1]], start, end, granteeKind="SUPPLIER", granularity="MINUTE"),
    )
    buckets = data(
        await shared_aggregate(s.client, to_own_supplier["id"], a.series_ids[1], start, end, "10m")
    )
    assert [bucket["count"] for bucket in buckets["sharedAggregate"]] == [60] * 6
    # Without a grant the supplier still reads none of its tenant's telemetry.
    own_read = await s.client.query("query($s: ID!) { latest(seriesIds: [$s]) { value } }", s=a.series_ids[1])
    assert refusal(own_read)[0] == "FORBIDDEN"

    to_partner = await grant(
        a_owner, **grant_input(p.id, [a.series_ids[2]], start, end, granteeKind="SUPPLIER")
    )
    assert to_partner["granteeIsPartner"] and to_partner["granteeName"] == p.name
    assert [g["id"] for g in data(await p.client.query(SHARED_WITH_ME, ended=False))["sharedWithMe"]] == [
        to_partner["id"]
    ]
    assert (
        len(
            data(await shared_points(p.client, to_partner["id"], a.series_ids[2], start, end))[
                "sharedPoints"
            ]["timestamps"]
        )
        == 360
    )

    refused = await grant_errors(
        a_owner, **grant_input(t.id, [a.series_ids[2]], start, end, granteeKind="SUPPLIER")
    )
    assert [e["code"] for e in refused] == ["GRANTEE_NOT_ELIGIBLE"]
    assert refusal(await shared_points(t.client, to_partner["id"], a.series_ids[2], start, end)) == (
        "NOT_FOUND",
        "GRANT_NOT_FOUND",
    )


async def test_bad_grants_are_refused_with_clear_codes(stack, signer, world):
    a, b, c, a_owner = world["a"], world["b"], world["c"], world["a_owner"]
    series, start, end = a.series_ids[0], BASE_NS + HOUR_NS, BASE_NS + 2 * HOUR_NS
    unknown = "00000000-0000-4000-8000-000000000000"
    cases = [
        (grant_input(unknown, [series], start, end), [(None, "GRANTEE_NOT_FOUND")]),
        (grant_input(unknown, [series], start, end, granteeKind="SUPPLIER"), [(None, "GRANTEE_NOT_FOUND")]),
        (grant_input(a.id, [series], start, end), [("granteeId", "GRANTEE_IS_GRANTOR")]),
        (
            grant_input(c.id, [series], start, end, expiresAt=ts(time.time_ns() - 10**9)),
            [("expiresAt", "EXPIRY_IN_PAST")],
        ),
        (grant_input(c.id, [b.series_ids[0]], start, end), [(None, "SERIES_NOT_FOUND")]),  # another tenant's
        (grant_input(c.id, [], start, end, assetIds=[b.machine_id]), [(None, "ASSET_NOT_FOUND")]),
        (grant_input(c.id, [series], start + 1, end, granularity="HOUR"), [("from", "RANGE_NOT_ALIGNED")]),
        (grant_input(c.id, [series], end, start), [("from", "EMPTY_RANGE")]),
        (grant_input(c.id, [series], start, end, purpose=" "), [("purpose", "INVALID_ARGUMENT")]),
    ]
    for asked, expected in cases:
        assert [(e["field"], e["code"]) for e in await grant_errors(a_owner, **asked)] == expected, asked

    # Overlapping: the same grantee, a shared series and overlapping times (the B grant of the first test
    # covers series 0 over the second hour); another grantee, or times that only touch, do not overlap.
    first = await grant(a_owner, **grant_input(c.id, [], start, end, assetIds=[a.machine_id]))
    assert {s["id"] for s in first["series"]} == set(a.series_ids)
    overlap = await grant_errors(a_owner, **grant_input(c.id, [series], end - HOUR_NS // 2, end + HOUR_NS))
    assert [e["code"] for e in overlap] == ["GRANT_OVERLAPS"] and first["id"] in overlap[0]["message"]
    await grant(a_owner, **grant_input(c.id, [series], end, end + HOUR_NS))

    viewer_key = await create_api_key(stack.targets["tenancy"], signer, a.id, ["read"])
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as http:
        body = {"query": GRANT_DATA, "variables": {"input": grant_input(c.id, [series], start, end)}}
        answer = (
            await http.post("/graphql", json=body, headers={"authorization": f"Bearer {viewer_key}"})
        ).json()
    assert refusal(answer)[0] == "FORBIDDEN"  # an API key never grants
