"""RELIABILITY S2: schemathesis generates operations from the exported schema (``gateway/schema.graphql``)
and sends them, as a pro tenant's read-and-write API key, to the real gateway and services.

Whatever it sends, the gateway answers with data of the types the schema declares (or errors), without a
5xx, without an ``INTERNAL`` error (an expected failure is a typed error such as ``BAD_USER_INPUT``),
without a traceback, and without an id of another tenant.
Schemathesis calls with ``requests``, so the cases run in a thread while the stack serves on the loop.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from schemathesis.graphql import nodes

from services.runtime.principal import Kind, Principal, Role
from sf.seeding import create_tenant
from sfcloud.v1 import tenancy_pb2 as pb

SCHEMA = Path(__file__).resolve().parents[2] / "gateway" / "schema.graphql"
# Our custom scalars, as values a client might send: well-formed ones and any text.
SCALARS = {
    "Count": st.integers(min_value=-1, max_value=2**63).map(nodes.Int),
    "Date": st.one_of(st.dates().map(str), st.text(max_size=12)).map(nodes.String),
    "Duration": st.one_of(st.from_regex(r"\A[0-9]{1,6}(ns|us|ms|s|m|h|d)\Z"), st.text(max_size=8)).map(
        nodes.String
    ),
    "Timestamp": st.one_of(st.datetimes().map(lambda t: t.isoformat() + "Z"), st.text(max_size=30)).map(
        nodes.String
    ),
}


async def fuzz_gateway(stack, signer, tenancy, examples: int) -> dict[str, int]:
    """Send ``examples`` generated operations; counts of the answers by kind."""
    ours = await create_tenant(stack.targets["tenancy"], signer, "Fuzzed", plan="pro")
    theirs = await create_tenant(stack.targets["tenancy"], signer, "Bystander", plan="pro")
    owner = Principal(Kind.USER, str(uuid.uuid4()), tenant_id=ours.id, role=Role.OWNER)
    key = (
        await tenancy.call("CreateApiKey", pb.CreateApiKeyRequest(name="f", scopes=["read", "write"]), owner)
    ).key
    foreign = {str(theirs.id), theirs.machine_id, *map(str, theirs.series_ids)}
    for name, strategy in SCALARS.items():
        schemathesis.graphql.scalar(name, strategy)
    schema = schemathesis.graphql.from_path(SCHEMA)
    counts = {"answered": 0, "refused": 0}

    @seed(20261206)
    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=schema.as_strategy())
    def send(case):
        response = case.call(
            base_url=f"{stack.gateway_url}/graphql", headers={"authorization": f"Bearer {key}"}, timeout=30
        )
        text = response.text
        assert response.status_code < 500, text
        assert "Traceback" not in text and 'File "' not in text, text
        assert not any(found in text for found in foreign), text
        try:
            body = response.json()
        except ValueError:  # an HTTP refusal (400, 405, 413, 429) in plain text
            counts["refused"] += 1
            return
        case.operation.validate_response(response, case=case)  # data of the declared types, or errors
        codes = {e.get("extensions", {}).get("code") for e in body.get("errors") or []}
        assert "INTERNAL" not in codes, (case.body, text)
        counts["refused" if codes else "answered"] += 1

    await asyncio.to_thread(send)
    return counts


async def test_generated_operations_get_no_server_error(stack, signer, tenancy):
    """RELIABILITY S2: 100 generated operations: no 5xx, no INTERNAL, no traceback, no foreign id."""
    counts = await fuzz_gateway(stack, signer, tenancy, 100)
    assert counts["answered"] > 0, counts


@pytest.mark.long
@pytest.mark.timeout(1800)
async def test_two_thousand_generated_operations_get_no_server_error(stack, signer, tenancy):
    """RELIABILITY S2: 2,000 generated operations, as above."""
    counts = await fuzz_gateway(stack, signer, tenancy, 2_000)
    assert counts["answered"] > 0


async def test_a_literal_its_scalar_refuses_is_bad_user_input(developer):
    """RELIABILITY S2: schemathesis's find: ``points(from: "")`` written in the query (not as a variable)
    was masked as INTERNAL; it is the caller's mistake, and the message says which scalar refused it."""
    query = '{ points(seriesId: "x", from: "", to: "2026-12-06T00:00:00Z", first: 1) { hasMore } }'
    async with developer.client() as client:
        response = await client.post("/graphql", json={"query": query})
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "Timestamp" in error["message"] and "RFC 3339" in error["message"], error


@pytest.mark.parametrize(
    ("argument", "value"), [("to", "2263-01-01T00:00:00Z"), ("from", "1677-01-01T00:00:00Z")]
)
async def test_a_time_past_sixty_four_bits_is_bad_user_input(developer, argument, value):
    """RELIABILITY S2: schemathesis's find: ``oee(to: "2263-01-01T00:00:00Z")`` passed the Timestamp scalar,
    then could not be put in the gRPC request's int64 and came back INTERNAL."""
    times = {"from": "2026-12-01T00:00:00Z", "to": "2026-12-02T00:00:00Z", argument: value}
    query = (
        'query($from: Timestamp!, $to: Timestamp!) { oee(assetId: "x", from: $from, to: $to) { timeZone } }'
    )
    async with developer.client() as client:
        response = await client.post("/graphql", json={"query": query, "variables": times})
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "64 bits" in error["message"], error
