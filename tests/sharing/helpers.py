"""Tenants that share data, and the GraphQL documents of the sharing tests (docs/SHARING.md)."""

from __future__ import annotations

import time

from gateway.graphql.scalars import format_timestamp
from tests.support.helpers import data

HOUR_NS = 3600 * 10**9
STEP_NS = 10 * 10**9  # a point every 10 s

GRANT_FIELDS = (
    "id grantorTenantId grantorName granteeKind granteeId granteeName granteeIsPartner"
    " series { id name unit machine } from to granularity purpose expiresAt revokedAt revokedBy"
)
GRANT_DATA = (
    "mutation($input: GrantDataInput!) { grantData(input: $input) {"
    f" grant {{ {GRANT_FIELDS} }} errors {{ field code message }} }} }}"
)
REVOKE = f"mutation($id: ID!) {{ revokeGrant(id: $id) {{ grant {{ {GRANT_FIELDS} }} errors {{ field code message }} }} }}"
SHARED_WITH_ME = f"query($ended: Boolean!) {{ sharedWithMe(includeEnded: $ended) {{ {GRANT_FIELDS} }} }}"
DATA_GRANTS = f"query($ended: Boolean!) {{ dataGrants(includeEnded: $ended) {{ {GRANT_FIELDS} }} }}"
SHARED_POINTS = (
    "query($grant: ID!, $series: ID!, $from: Timestamp!, $to: Timestamp!) {"
    " sharedPoints(grantId: $grant, seriesId: $series, from: $from, to: $to, first: 10000)"
    " { timestamps values hasMore } }"
)
SHARED_AGGREGATE = (
    "query($grant: ID!, $series: ID!, $from: Timestamp!, $to: Timestamp!, $bucket: Duration!) {"
    " sharedAggregate(grantId: $grant, seriesId: $series, from: $from, to: $to, bucket: $bucket)"
    " { start count min max sum avg } }"
)
OWN_POINTS = (
    "query($series: ID!, $from: Timestamp!, $to: Timestamp!) {"
    " points(seriesId: $series, from: $from, to: $to, first: 100000) { timestamps values } }"
)
OWN_AGGREGATE = (
    "query($series: ID!, $from: Timestamp!, $to: Timestamp!, $bucket: Duration!) {"
    " aggregate(seriesId: $series, from: $from, to: $to, bucket: $bucket) { start count min max sum avg } }"
)
ACCESS_LOG = (
    "query($grant: ID!) { grantAccessLog(grantId: $grant) {"
    " accesses { at action actor outcome reason seriesId from to resolution source } nextCursor } }"
)


def ts(ns: int) -> str:
    return format_timestamp(ns)


def grant_input(grantee_id, series_ids, start_ns: int, end_ns: int, **overrides) -> dict:
    """A grant to a tenant of raw data for a day, unless ``overrides`` say otherwise."""
    return {
        "granteeKind": "TENANT",
        "granteeId": str(grantee_id),
        "seriesIds": list(series_ids),
        "from": ts(start_ns),
        "to": ts(end_ns),
        "granularity": "RAW",
        "purpose": "Predictive maintenance study",
        "expiresAt": ts(time.time_ns() + 24 * HOUR_NS),
    } | overrides


async def grant(client, **input_) -> dict:
    """The new grant, after checking it was made."""
    payload = data(await client.query(GRANT_DATA, input=input_))["grantData"]
    assert payload["errors"] == [], payload
    return payload["grant"]


async def grant_errors(client, **input_) -> list[dict]:
    payload = data(await client.query(GRANT_DATA, input=input_))["grantData"]
    assert payload["grant"] is None, payload
    return payload["errors"]


def refusal(answer: dict) -> tuple[str, str]:
    """(code, reason) of the one error of a refused query."""
    assert answer.get("data") is None or not any(answer["data"].values()), answer
    [error] = answer["errors"]
    return error["extensions"]["code"], error["extensions"].get("reason", "")


async def shared_points(client, grant_id: str, series: str, start_ns: int, end_ns: int) -> dict:
    return await client.query(
        SHARED_POINTS, grant=grant_id, series=series, **{"from": ts(start_ns), "to": ts(end_ns)}
    )


async def shared_aggregate(
    client, grant_id: str, series: str, start_ns: int, end_ns: int, bucket: str
) -> dict:
    variables = {"from": ts(start_ns), "to": ts(end_ns)}
    return await client.query(SHARED_AGGREGATE, grant=grant_id, series=series, bucket=bucket, **variables)
