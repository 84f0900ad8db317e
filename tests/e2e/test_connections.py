"""The cursor connections of docs/API.md ("Pagination") over the real services: each list paged two at a
time gives every row once, in the order of the field it replaces, and ends with `hasNextPage` false; new
rows arriving between pages neither repeat nor hide the rest; `first` outside 1..200 and a cursor the
list never gave are BAD_USER_INPUT."""

from __future__ import annotations

import base64
import time
import uuid

import psycopg
import pytest

from sf.seeding import create_tenant
from tests.alarms.helpers import raise_alarms
from tests.sharing.helpers import grant, grant_input
from tests.support.helpers import data, error_codes, owner_client, supplier

PAGE = "pageInfo { endCursor hasNextPage }"
RANGE = 'from: "1970-01-01T00:00:00Z", to: "2100-01-01T00:00:00Z"'
# connection → (its query with $first/$after, the deprecated field's query, who asks: "a", "b" or "t")
LISTS = {
    "alarmsConnection": (
        f"alarmsConnection(states: [RAISED], first: $first, after: $after) {{ nodes {{ id }} {PAGE} }}",
        "{ alarms(states: [RAISED]) { id } }",
        "a",
    ),
    "anomaliesConnection": (
        f"anomaliesConnection({RANGE}, first: $first, after: $after) {{ nodes {{ id }} {PAGE} }}",
        f"{{ anomalies({RANGE}) {{ id }} }}",
        "a",
    ),
    "ticketsConnection": (
        f"ticketsConnection(first: $first, after: $after) {{ nodes {{ id }} {PAGE} }}",
        "{ tickets { id } }",
        "a",
    ),
    "dataGrantsConnection": (
        f"dataGrantsConnection(first: $first, after: $after) {{ nodes {{ id }} {PAGE} }}",
        "{ dataGrants { id } }",
        "a",
    ),
    "sharedWithMeConnection": (
        f"sharedWithMeConnection(first: $first, after: $after) {{ nodes {{ id }} {PAGE} }}",
        "{ sharedWithMe { id } }",
        "b",
    ),
    "reportsConnection": (
        f"reportsConnection(first: $first, after: $after) {{ nodes {{ id }} {PAGE} }}",
        "{ reports { id } }",
        "a",
    ),
    "exportsConnection": (
        f"exportsConnection(first: $first, after: $after) {{ nodes {{ id }} {PAGE} }}",
        "{ exports { id } }",
        "a",
    ),
    "supplierRequestsConnection": (
        f"supplierRequestsConnection(first: $first, after: $after) {{ nodes {{ id }} {PAGE} }}",
        "{ supplierRequests { id } }",
        "t",
    ),
}
ROWS_EACH = 5  # rows of every list: pages of 2, 2 and 1


def _query(field: str) -> str:
    return f"query($first: Int!, $after: String) {{ {LISTS[field][0]} }}"


async def _walk(client, field: str, first: int = 2) -> list[list[str]]:
    """Every page of the connection, as lists of ids, following `endCursor` to the end."""
    pages, after = [], None
    while True:
        page = data(await client.query(_query(field), first=first, after=after))[field]
        pages.append([n["id"] for n in page["nodes"]])
        assert page["pageInfo"]["hasNextPage"] == (page["pageInfo"]["endCursor"] is not None)
        if not page["pageInfo"]["hasNextPage"]:
            return pages
        after = page["pageInfo"]["endCursor"]
        assert len(pages) <= ROWS_EACH, "the pages never end"


def _store_anomalies(admin_url: str, tenant, count: int) -> None:
    """Anomalies as the worker stores them (past row-level security); pairs share a start, so the id
    breaks the tie."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for start in (10**18 + (n // 2) * 10**9 for n in range(count)):
            conn.execute(
                "INSERT INTO analytics.anomalies (tenant_id, machine_id, start_ns, end_ns, series_ids,"
                " peak_score, threshold) VALUES (%s, %s, %s, %s, %s, 9, 1)",
                [
                    tenant.id,
                    uuid.UUID(tenant.machine_id),
                    start,
                    start + 10**9,
                    [uuid.UUID(tenant.series_ids[0])],
                ],
            )


@pytest.fixture(scope="module")
async def lists(stack, signer, admin_url):
    """Tenant A (resold by S) with five rows in every list, B that A shares with, and supplier T that A
    asks five times to take it on (T declining each)."""
    s, t = await supplier(stack, signer, "Pages S"), await supplier(stack, signer, "Pages T")
    a = await create_tenant(
        stack.targets["tenancy"], signer, "Pages A", series_count=ROWS_EACH, supplier_id=s.id
    )
    b = await create_tenant(stack.targets["tenancy"], signer, "Pages B", supplier_id=s.id)
    clients = {"a": await owner_client(stack, a), "b": await owner_client(stack, b), "t": t.client}
    await raise_alarms(stack, signer, a, ROWS_EACH)
    _store_anomalies(admin_url, a, ROWS_EACH)
    now = time.time_ns()
    for n in range(ROWS_EACH):
        made = data(
            await clients["a"].query(
                "mutation($s: String!) { openTicket(subject: $s) { errors { code } } }", s=f"Press {n}"
            )
        )
        assert made["openTicket"]["errors"] == []
        await grant(clients["a"], **grant_input(b.id, [a.series_ids[n]], now - 3600 * 10**9, now))
        report = {"category": "MISUSE", "subject": f"Report {n}", "body": "a suspected misuse"}
        filed = data(
            await clients["a"].query(
                "mutation($i: FileReportInput!) { fileReport(input: $i) { errors { code } } }", i=report
            )
        )
        assert filed["fileReport"]["errors"] == []
        assert data(await clients["a"].query("mutation { startExport { id } }"))["startExport"]["id"]
        asked = data(
            await clients["a"].query(
                "mutation($id: ID!) { requestSupplier(supplierId: $id) { requestId errors { code } } }",
                id=t.id,
            )
        )["requestSupplier"]
        assert asked["errors"] == []
        declined = data(
            await t.client.query(
                'mutation($id: ID!) { declineSupplierRequest(id: $id, note: "booked") { done } }',
                id=asked["requestId"],
            )
        )  # one open request at a time: T declines it, and A asks again
        assert declined["declineSupplierRequest"]["done"]
    yield clients
    for client in (*clients.values(), s.client):
        await client.close()


@pytest.mark.parametrize("field", sorted(LISTS))
async def test_a_connection_pages_through_the_whole_list(lists, field):
    """Pages of 2 hold the deprecated field's rows, each once, in its order; the last says it is last."""
    _, old, who = LISTS[field]
    client = lists[who]
    pages = await _walk(client, field)
    assert [len(p) for p in pages] == [2, 2, 1], pages
    whole = [i["id"] for i in next(iter(data(await client.query(old)).values()))]
    assert [i for p in pages for i in p] == whole
    [one] = await _walk(client, field, first=200)
    assert one == whole


@pytest.mark.parametrize("field", sorted(LISTS))
async def test_first_and_after_are_checked(lists, field):
    """`first` outside 1..200, or a cursor the list never gave, is BAD_USER_INPUT: never a quiet page."""
    client = lists[LISTS[field][2]]
    for first in (0, 201, -1):
        assert error_codes(await client.query(_query(field), first=first, after=None)) == {"BAD_USER_INPUT"}
    wrong = base64.urlsafe_b64encode(b'["not a time", 1, 2]').decode()
    for after in ("not a cursor", wrong, "W10="):
        assert error_codes(await client.query(_query(field), first=2, after=after)) == {"BAD_USER_INPUT"}


async def test_rows_added_between_pages_neither_repeat_nor_hide_others(lists):
    """Keyset, not offset: a ticket opened after the first page was read is not on the later pages, and
    the rows that were there all are."""
    client = lists["a"]
    before = [i for p in await _walk(client, "ticketsConnection") for i in p]
    first = data(await client.query(_query("ticketsConnection"), first=2, after=None))["ticketsConnection"]
    added = data(await client.query('mutation { openTicket(subject: "Late") { ticket { id } } }'))
    rest, after = [], first["pageInfo"]["endCursor"]
    while after:
        page = data(await client.query(_query("ticketsConnection"), first=2, after=after))[
            "ticketsConnection"
        ]
        rest += [n["id"] for n in page["nodes"]]
        after = page["pageInfo"]["endCursor"]
    assert [n["id"] for n in first["nodes"]] + rest == before
    assert added["openTicket"]["ticket"]["id"] not in rest
