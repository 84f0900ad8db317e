"""Abuse is refused with the right code, before anything runs, and the gateway keeps serving:
a query 50 levels deep, 1,000 aliases, a 10 MB body, a list of 1,000,000 items, too many requests.
Real HTTP (httpx, raw sockets) against the real gateway and services."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from gateway.graphql.scalars import format_timestamp
from tests.gateway.conftest import SMALL, TIGHT_RATE, new_developer, serves

POINTS = """query Points($id: ID!, $from: Timestamp!, $to: Timestamp!, $n: Int!) {
  points(seriesId: $id, from: $from, to: $to, first: $n) { hasMore } }"""
DASHBOARD = "query Dashboard { machines { name series { name latest { value } } } }"
LATEST = "query($ids: [ID!]!) { series(ids: $ids) { latest { value } } }"


def errors_of(response) -> list[dict]:
    body = response.json()
    assert "data" not in body, body  # refused before execution: no data entry at all
    return body["errors"]


def points_variables(developer, first: int) -> dict:
    """A raw read of the developer's first series over a week: the widest range its starter plan allows."""
    return {
        "id": developer.tenant.series_ids[0],
        "from": format_timestamp(0),
        "to": format_timestamp(7 * 86_400 * 10**9),
        "n": first,
    }


async def test_a_query_fifty_levels_deep_is_refused(developer):
    """RELIABILITY G1: Depth over 10 refused before anything runs."""
    deep = "query Deep { " + "machines { " * 50 + "name" + " }" * 50 + " }"
    async with developer.client() as client:
        response = await client.post("/graphql", json={"query": deep})
        assert response.status_code == 200
        errors = errors_of(response)
        assert {e["extensions"]["code"] for e in errors} == {"BAD_USER_INPUT"}
        assert any("exceeds maximum operation depth of 10" in e["message"] for e in errors), errors
        await serves(client)


async def test_a_thousand_aliases_are_refused_and_sixteen_too(developer):
    """RELIABILITY G1: 16 aliases (limit 15) and 1,000 refused before anything runs."""
    thousand = "{ " + " ".join(f"a{i}: me {{ kind }}" for i in range(1000)) + " }"
    sixteen = "{ " + " ".join(f"a{i}: __typename" for i in range(16)) + " }"
    fifteen = "{ " + " ".join(f"a{i}: __typename" for i in range(15)) + " }"
    async with developer.client() as client:
        errors = errors_of(await client.post("/graphql", json={"query": thousand}))
        assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert "Document contains more than 2000 tokens" in errors[0]["message"]  # caught while parsing
        errors = errors_of(await client.post("/graphql", json={"query": sixteen}))
        assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert errors[0]["message"] == "16 aliases found. Allowed: 15"
        assert (await client.post("/graphql", json={"query": fifteen})).json()["data"]["a14"] == "Query"
        await serves(client)


async def test_a_million_points_are_refused_by_cost_and_ten_thousand_pass(developer):
    """RELIABILITY G2: A query costing 1,000,000 points is refused before it runs; 10,000 pass."""
    async with developer.client() as client:
        response = await client.post(
            "/graphql", json={"query": POINTS, "variables": points_variables(developer, 1_000_000)}
        )
        (error,) = errors_of(response)
        assert error["extensions"] == {
            "code": "BAD_USER_INPUT",
            "reason": "QUERY_TOO_COSTLY",
            "cost": 1_000_000,
            "maxCost": 50_000,
        }
        assert error["message"].startswith("the query's cost 1,000,000 is over your plan's limit of 50,000")
        response = await client.post(
            "/graphql", json={"query": POINTS, "variables": points_variables(developer, 10_000)}
        )
        assert response.json() == {"data": {"points": {"hasMore": False}}}
        await serves(client)


async def test_sizes_in_variable_defaults_and_columns_are_counted(developer):
    """RELIABILITY G2: Sizes hidden in variable defaults and columns count towards the cost."""
    by_default = POINTS.replace("$n: Int!", "$n: Int = 1000000")
    chart = """query($id: ID!) { chart(seriesId: $id, from: "1970-01-01T00:00:00Z",
      to: "2100-01-01T00:00:00Z", columns: 1000000) { first } }"""
    variables = points_variables(developer, 0)
    del variables["n"]
    async with developer.client() as client:
        for query, values in (
            (by_default, variables),
            (chart, {"id": developer.tenant.series_ids[0]}),
        ):
            response = await client.post("/graphql", json={"query": query, "variables": values})
            body = response.json()
            assert body["errors"][0]["extensions"].get("reason") == "QUERY_TOO_COSTLY", (query, body)
        await serves(client)


def introspection_bomb() -> str:
    """Introspection nested through `fields` and `type` five times: every type's fields' types' fields...
    (within the depth limit, since the depth rule does not count introspection)."""
    nested = "name"
    for _ in range(5):
        nested = f"fields {{ type {{ {nested} }} }}"
    return f"{{ __schema {{ types {{ {nested} }} }} }}"


async def test_introspection_stays_on_and_bounded(developer):
    """RELIABILITY G1: Departure from G1, on purpose: introspection stays on for developers' tools
    (docs/RELIABILITY.md says why), and graphql-core's introspection depth rule refuses a nested one
    before it runs."""
    from graphql import get_introspection_query

    async with developer.client() as client:
        response = await client.post("/graphql", json={"query": get_introspection_query()})
        assert response.status_code == 200
        assert response.json()["data"]["__schema"]["queryType"]["name"] == "Query"
        response = await client.post("/graphql", json={"query": introspection_bomb()})
        assert response.status_code == 200
        errors = errors_of(response)
        assert [e["message"] for e in errors] == ["Maximum introspection depth exceeded"], errors
        assert {e["extensions"]["code"] for e in errors} == {"BAD_USER_INPUT"}, errors
        await serves(client)


async def test_a_ten_megabyte_body_is_refused_with_413(developer):
    """RELIABILITY R1: HTTP side: a 10 MB body is refused with 413."""
    body = b'{"query": "{ me { kind } }", "variables": {"pad": "' + b"x" * (10 << 20) + b'"}}'
    async with developer.client() as client:
        response = await client.post("/graphql", content=body, headers={"content-type": "application/json"})
        assert response.status_code == 413
        await serves(client)


async def _raw_request(base_url: str, head: bytes, body_chunks=()) -> bytes:
    """The status line the gateway answers with, sending ``head`` and then as much of the body as it
    takes before answering."""
    url = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    writer.write(head)
    for chunk in body_chunks:
        writer.write(chunk)
        await writer.drain()
    status = await asyncio.wait_for(reader.readline(), 10)
    writer.close()
    return status


async def test_a_declared_ten_megabytes_are_refused_before_any_byte_of_the_body_is_sent(developer):
    head = (
        f"POST /graphql HTTP/1.1\r\nhost: gateway\r\nauthorization: Bearer {developer.key}\r\n"
        f"content-type: application/json\r\ncontent-length: {10 << 20}\r\n\r\n"
    ).encode()
    status = await _raw_request(developer.base_url, head)
    assert status.startswith(b"HTTP/1.1 413"), status
    async with developer.client() as client:
        await serves(client)


async def test_a_chunked_body_is_refused_once_past_the_limit(developer):
    head = (
        f"POST /graphql HTTP/1.1\r\nhost: gateway\r\nauthorization: Bearer {developer.key}\r\n"
        "content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
    ).encode()
    chunk = b"x" * (256 << 10)
    chunks = [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * 5  # 1.25 MiB, over the 1 MiB limit
    status = await _raw_request(developer.base_url, head, chunks)
    assert status.startswith(b"HTTP/1.1 413"), status
    async with developer.client() as client:
        await serves(client)


async def test_too_many_requests_get_429_with_ratelimit_headers(stack, signer, tenancy, tight_gateway):
    """RELIABILITY I5: Per-API-key rate limit: 429 with RateLimit headers past the limit."""
    limit = TIGHT_RATE
    noisy = await new_developer(stack, signer, tenancy, tight_gateway, plan="standard")
    quiet = await new_developer(stack, signer, tenancy, tight_gateway, plan="standard")
    async with noisy.client() as client:
        remaining = []
        for _ in range(limit):
            response = await client.post("/graphql", json={"query": "{ me { kind } }"})
            assert response.status_code == 200, response.text
            assert response.headers["ratelimit-limit"] == str(limit)
            assert response.headers["ratelimit-policy"] == f"{limit};w=60"
            remaining.append(int(response.headers["ratelimit-remaining"]))
        assert remaining == list(range(limit - 1, -1, -1))
        refused = await client.post("/graphql", json={"query": "{ me { kind } }"})
    assert refused.status_code == 429
    assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert refused.headers["ratelimit-remaining"] == "0"
    assert 1 <= int(refused.headers["retry-after"]) <= 60 // limit + 1
    assert 1 <= int(refused.headers["ratelimit-reset"]) <= 60
    async with quiet.client() as client:  # another key of the same plan is not held back
        await serves(client)


async def test_the_limits_come_from_the_callers_plan(stack, signer, tenancy, tight_gateway):
    """RELIABILITY G2: Depth, alias, token and cost limits come from the caller's plan."""
    developer = await new_developer(stack, signer, tenancy, tight_gateway)
    allowed_on_starter = [
        (DASHBOARD, {}),  # depth 4: the tight catalog allows 3
        ("{ a: me { kind } b: me { kind } c: me { kind } }", {}),  # 3 aliases: it allows 2
        (POINTS, points_variables(developer, 1000)),  # cost 1,000: it allows 100
        (LATEST, {"ids": developer.tenant.series_ids * 20}),  # 60 ids, each with its value: cost 120
    ]
    async with developer.client() as tight, developer.client(stack.gateway_url) as usual:
        for query, variables in allowed_on_starter:
            payload = {"query": query, "variables": variables}
            assert "errors" not in (await usual.post("/graphql", json=payload)).json(), query
            body = (await tight.post("/graphql", json=payload)).json()
            assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", query
        few = {"query": LATEST, "variables": {"ids": developer.tenant.series_ids * 10}}  # cost 60
        assert "errors" not in (await tight.post("/graphql", json=few)).json()
        padded = "{ me { kind " + "tenantId " * 200 + "} }"  # over the 200 tokens it allows
        body = (await tight.post("/graphql", json={"query": padded})).json()
        assert "Document contains more than 200 tokens" in body["errors"][0]["message"]


async def test_a_misspelled_field_gets_no_suggestion_and_a_syntax_error_no_internals(developer):
    """RELIABILITY G1: No 'Did you mean' suggestion; a syntax error shows no internals."""
    async with developer.client() as client:
        (error,) = errors_of(await client.post("/graphql", json={"query": "{ machins { id } }"}))
        assert error["message"] == "Cannot query field 'machins' on type 'Query'."
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        (error,) = errors_of(await client.post("/graphql", json={"query": "{ machines { id "}))
        assert error["message"].startswith("Syntax Error: Expected Name, found <EOF>.")
        assert "Traceback" not in error["message"] and set(error["extensions"]) == {"code"}
        await serves(client)


async def test_a_connection_costs_its_first_not_first_times_a_list_of_nodes(developer):
    """A connection's `nodes` are the `first` items its field asks for, counted once: a page of 200 grants
    with their series costs 200 * (1 + (1 + 50) + 1) = 10,600 (pageInfo the last 1), so one passes and five
    in one query are refused."""
    grants = "sharedWithMeConnection(first: 200) { nodes { id series { id } } pageInfo { hasNextPage } }"
    async with developer.client() as client:
        answer = (await client.post("/graphql", json={"query": "{ " + grants + " }"})).json()
        assert answer["data"]["sharedWithMeConnection"]["nodes"] == [], answer
        five = "{ " + " ".join(f"a{n}: {grants}" for n in range(5)) + " }"
        (error,) = errors_of(await client.post("/graphql", json={"query": five}))
        assert error["extensions"]["cost"] == 5 * 10_600


def tokens(count: int) -> str:
    """A valid query of exactly ``count`` tokens: `{ me { kind } }` and comments, which the limit counts too
    (padding with repeated fields instead trips graphql-core's overlapping-fields rule near 1,000 of them)."""
    return "{ me { kind } }" + "\n#" * (count - 6)


async def test_two_thousand_and_one_tokens_are_refused_and_two_thousand_pass(developer):
    """RELIABILITY G1: 2,001 tokens (limit 2,000) refused while parsing; 2,000 answered."""
    async with developer.client() as client:
        (error,) = errors_of(await client.post("/graphql", json={"query": tokens(2001)}))
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert "Document contains more than 2000 tokens" in error["message"]
        answer = (await client.post("/graphql", json={"query": tokens(2000)})).json()
        assert answer.get("data") == {"me": {"kind": "api_key"}}, answer


async def test_aliases_are_counted_through_fragment_spreads(developer):
    """RELIABILITY G1: one aliased field in a fragment spread 10 times, beside 6 aliases: 16, refused."""
    direct = " ".join(f"d{i}: __typename" for i in range(6))
    spreads = " ".join(["...One"] * 10)
    fragment = "fragment One on Query { a: __typename }"
    async with developer.client() as client:
        query = f"{{ {direct} {spreads} }} {fragment}"
        (error,) = errors_of(await client.post("/graphql", json={"query": query}))
        assert error == {"message": "16 aliases found. Allowed: 15", "extensions": {"code": "BAD_USER_INPUT"}}
        fifteen = f"{{ {direct.rsplit(' d5', 1)[0]} {spreads} }} {fragment}"
        assert (await client.post("/graphql", json={"query": fifteen})).json()["data"]["a"] == "Query"
        await serves(client)


def fragment_bomb(levels: int) -> str:
    """Fragments each spreading the next twice, an alias at the bottom: 2^levels aliases once expanded,
    in about 12 tokens a level."""
    chain = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels))
    return f"{{ ...F0 }} {chain} fragment F{levels} on Query {{ a: __typename }}"


async def test_a_fragment_bomb_is_refused_at_once(developer):
    """RELIABILITY G1: 40 fragments each spreading the next twice (2^40 aliases, 500 tokens) are refused in
    milliseconds: depth and aliases are measured with each fragment counted once (`shape.py`); Strawberry's
    own rules walked every expansion (seconds at 20 levels, days at 40)."""
    async with developer.client() as client:
        (error,) = errors_of(await client.post("/graphql", json={"query": fragment_bomb(40)}))
        assert error["message"] == f"{2**40} aliases found. Allowed: 15"
        await serves(client)


async def test_circular_and_unknown_fragments_are_refused(developer):
    """RELIABILITY G1: fragments spreading each other, or one that does not exist: a validation error, not 500."""
    circular = "{ ...A } fragment A on Query { __typename ...B } fragment B on Query { me { kind } ...A }"
    async with developer.client() as client:
        errors = errors_of(await client.post("/graphql", json={"query": circular}))
        assert {e["extensions"]["code"] for e in errors} == {"BAD_USER_INPUT"}
        assert any(e["message"].startswith("Cannot spread fragment 'A' within itself") for e in errors), (
            errors
        )
        (error,) = errors_of(await client.post("/graphql", json={"query": "{ ...Nowhere }"}))
        assert error["message"] == "Unknown fragment 'Nowhere'."
        await serves(client)


async def test_a_batch_is_refused(developer):
    """RELIABILITY G1: batching is off, so any JSON array body is refused with 400 and nothing runs."""
    async with developer.client() as client:
        for batch in ([{"query": SMALL}], [{"query": SMALL}] * 2, []):
            response = await client.post("/graphql", json=batch)
            assert response.status_code == 400, (batch, response.text)
            assert "batching is not enabled" in response.text.lower(), response.text
        await serves(client)
