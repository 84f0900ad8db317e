"""`assetsConnection` and `apiKeysConnection` (docs/API.md, "Pagination") over the real services: paged two
at a time they give every row of the deprecated field once, in its order, and end with `hasNextPage` false;
the tree's pages put every parent before its children; a key made between pages neither repeats nor hides
the others; `first` outside 1..200 and a cursor the list never gave are BAD_USER_INPUT; another tenant's
rows never appear."""

from __future__ import annotations

import base64

import pytest

from sf.seeding import create_tenant
from tests.support.helpers import data, error_codes, owner_client

PAGE = "pageInfo { endCursor hasNextPage }"
QUERIES = {
    "assetsConnection": (
        f"query($first: Int!, $after: String) {{ assetsConnection(first: $first, after: $after)"
        f" {{ nodes {{ id parentId kind }} {PAGE} }} }}",
        "{ assets { id } }",
    ),
    "apiKeysConnection": (
        f"query($first: Int!, $after: String) {{ apiKeysConnection(first: $first, after: $after)"
        f" {{ nodes {{ id }} {PAGE} }} }}",
        "{ apiKeys { id } }",
    ),
}
MAKE_KEY = (
    "mutation($n: String!) { createApiKey(name: $n, scopes: [READ]) { apiKey { id } errors { code } } }"
)
ROWS_EACH = 5  # a site, a line and three machines; five keys: pages of 2, 2 and 1


async def _walk(client, field: str, first: int = 2) -> list[list[dict]]:
    pages, after = [], None
    while True:
        page = data(await client.query(QUERIES[field][0], first=first, after=after))[field]
        pages.append(page["nodes"])
        assert page["pageInfo"]["hasNextPage"] == (page["pageInfo"]["endCursor"] is not None)
        if not page["pageInfo"]["hasNextPage"]:
            return pages
        after = page["pageInfo"]["endCursor"]
        assert len(pages) <= 2 * ROWS_EACH, "the pages never end"


async def _make_key(client, name: str) -> str:
    made = data(await client.query(MAKE_KEY, n=name))["createApiKey"]
    assert made["errors"] == [], made
    return made["apiKey"]["id"]


@pytest.fixture(scope="module")
async def owners(stack, signer):
    """Tenant A with five assets and five API keys, and tenant B with its own tree and two keys."""
    a = await create_tenant(stack.targets["tenancy"], signer, "Tree A", machines=3)
    b = await create_tenant(stack.targets["tenancy"], signer, "Tree B", machines=2)
    clients = {"a": await owner_client(stack, a), "b": await owner_client(stack, b)}
    for n in range(ROWS_EACH):
        await _make_key(clients["a"], f"key {n}")
    for n in range(2):
        await _make_key(clients["b"], f"b's key {n}")
    yield clients
    for client in clients.values():
        await client.close()


@pytest.mark.parametrize("field", sorted(QUERIES))
async def test_a_connection_pages_through_the_whole_list(owners, field):
    """Pages of 2 hold the deprecated field's rows, each once, in its order; one page of 200 holds all."""
    client = owners["a"]
    pages = await _walk(client, field)
    assert [len(p) for p in pages] == [2, 2, 1], pages
    whole = [i["id"] for i in next(iter(data(await client.query(QUERIES[field][1])).values()))]
    assert [n["id"] for p in pages for n in p] == whole
    [one] = await _walk(client, field, first=200)
    assert [n["id"] for n in one] == whole
    theirs = {i["id"] for i in next(iter(data(await owners["b"].query(QUERIES[field][1])).values()))}
    assert theirs and not theirs & set(whole)


async def test_the_tree_comes_parents_first(owners):
    """Every asset's parent is on an earlier page, or earlier on the same one: a client builds the tree
    as the pages arrive."""
    seen: set[str] = set()
    kinds = []
    for page in await _walk(owners["a"], "assetsConnection", first=1):
        for node in page:
            assert node["parentId"] is None or node["parentId"] in seen, node
            seen.add(node["id"])
            kinds.append(node["kind"])
    assert kinds == ["site", "line", "machine", "machine", "machine"]


@pytest.mark.parametrize("field", sorted(QUERIES))
async def test_first_and_after_are_checked(owners, field):
    """`first` outside 1..200, or a cursor the list never gave, is BAD_USER_INPUT: never a quiet page."""
    query = QUERIES[field][0]
    for first in (0, 201, -1):
        assert error_codes(await owners["a"].query(query, first=first, after=None)) == {"BAD_USER_INPUT"}
    wrong = base64.urlsafe_b64encode(b'[1, 2, "not an id"]').decode()
    for after in ("not a cursor", wrong, "W10="):
        assert error_codes(await owners["a"].query(query, first=2, after=after)) == {"BAD_USER_INPUT"}


async def test_a_key_made_between_pages_neither_repeats_nor_hides_others(owners):
    """Keyset, not offset: the keys read before the new one come once each, and the new one comes last."""
    client, field = owners["b"], "apiKeysConnection"
    before = [n["id"] for p in await _walk(client, field, first=1) for n in p]
    first = data(await client.query(QUERIES[field][0], first=1, after=None))[field]
    added = await _make_key(client, "late key")
    rest, after = [], first["pageInfo"]["endCursor"]
    while after:
        page = data(await client.query(QUERIES[field][0], first=1, after=after))[field]
        rest += [n["id"] for n in page["nodes"]]
        after = page["pageInfo"]["endCursor"]
    assert [n["id"] for n in first["nodes"]] + rest == [*before, added]
