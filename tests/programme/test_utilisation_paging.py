"""The operator's utilisation report a page at a time, through tenancy's gRPC and GraphQL (docs/PROGRAMME.md,
"Pages"): every tenant exactly once, by name then id, across pages of any size; flaggedOnly pages that hold
the flagged tenants of the tenants they cover; page sizes within bounds; tokens the list did not give out
refused; and the CSV and the deprecated whole-list field still holding every tenant.

205 tenants that existed in June 2019, before any other test's, make the month: three of them share a name,
so the id orders them, across a page boundary; seventy signed in that month, so NO_LOGINS flags the rest."""

from __future__ import annotations

import csv
import io
import uuid

import grpc
import psycopg
import pytest

from services.runtime import keyset
from sfcloud.v1 import programme_pb2 as pb
from sfcloud.v1 import programme_pb2_grpc
from tests.control_plane import OPERATOR, Tenancy
from tests.programme.helpers import CSV, REPORT, REPORT_PAGE, backdated_tenants, operator_client
from tests.support.helpers import data

MONTH, CREATED, SIGNED_IN_AT = "2019-06", "2019-05-10T00:00Z", "2019-06-12T09:00Z"
NAMES = [f"Paged {n:03d}" for n in range(203)] + ["Paged 035"] * 2  # 35, 36, 37: across pages of 37
SIGNED_IN = range(30, 100)  # positions in the report's order: pages of 37 → the second holds no flag


@pytest.fixture(scope="module")
async def ordered(stack, admin_url):
    """The month's tenant ids in the report's order (name, then id); the operator's GraphQL client."""
    async with backdated_tenants(admin_url, NAMES, CREATED) as ids:
        order = [str(i) for _, i in sorted(zip(NAMES, ids, strict=True))]
        async with await psycopg.AsyncConnection.connect(admin_url, autocommit=True) as conn:
            async with conn.cursor() as cur:
                await cur.executemany(
                    "INSERT INTO tenancy.audit_log (tenant_id, at, actor_kind, actor_id, action, target, outcome)"
                    " VALUES (%s, %s, 'service', 'gateway', 'login', 'someone', 'ok')",
                    [(order[n], SIGNED_IN_AT) for n in SIGNED_IN],
                )
        operator = await operator_client(stack)
        yield order, operator
        await operator.close()


@pytest.fixture
async def programme(stack, signer) -> Tenancy:
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
        yield Tenancy(programme_pb2_grpc.ProgrammeServiceStub(channel), signer)


async def _pages(
    programme: Tenancy, size: int, flagged_only: bool = False
) -> list[pb.GetUtilisationReportResponse]:
    """Every page of the month, following the tokens to the end."""
    pages, token = [], None
    while token != "":
        request = pb.GetUtilisationReportRequest(
            month=MONTH, flagged_only=flagged_only, page_size=size, page_token=token or ""
        )
        pages.append(await programme.call("GetUtilisationReport", request, OPERATOR))
        token = pages[-1].next_page_token
    return pages


def _ids(pages) -> list[str]:
    return [t.tenant_id for page in pages for t in page.tenants]


async def test_pages_hold_every_tenant_once_by_name_then_id(ordered, programme):
    order, operator = ordered
    pages = await _pages(programme, 37)
    assert [len(p.tenants) for p in pages] == [37] * 5 + [20]
    assert [bool(p.next_page_token) for p in pages] == [True] * 5 + [False]
    assert _ids(pages) == order
    assert [t.tenant_name for t in pages[1].tenants[:1]] == ["Paged 035"]  # the third of the shared name

    nodes, after = [], None
    while True:
        page = data(await operator.query(REPORT_PAGE, month=MONTH, first=60, after=after))
        connection = page["utilisationReportConnection"]
        nodes += connection["nodes"]
        after = connection["pageInfo"]["endCursor"]
        if not connection["pageInfo"]["hasNextPage"]:
            break
    assert [n["tenantId"] for n in nodes] == order and after is None


async def test_a_page_holds_50_tenants_unless_asked_and_never_more_than_200(ordered, programme):
    order, _ = ordered
    default = await programme.call(
        "GetUtilisationReport", pb.GetUtilisationReportRequest(month=MONTH), OPERATOR
    )
    assert [t.tenant_id for t in default.tenants] == order[:50] and default.next_page_token
    most = pb.GetUtilisationReportRequest(month=MONTH, page_size=500)
    first = await programme.call("GetUtilisationReport", most, OPERATOR)
    assert len(first.tenants) == 200
    most.page_token = first.next_page_token
    rest = await programme.call("GetUtilisationReport", most, OPERATOR)
    assert _ids([first, rest]) == order and rest.next_page_token == ""


async def test_flagged_only_pages_hold_the_flagged_tenants_of_the_tenants_they_cover(ordered, programme):
    order, _ = ordered
    pages = await _pages(programme, 37, flagged_only=True)
    flagged = [tenant for n, tenant in enumerate(order) if n not in SIGNED_IN]
    assert _ids(pages) == flagged
    assert all("NO_LOGINS" in {f.rule for f in t.flags} for page in pages for t in page.tenants)
    # The same six pages as without the filter, each with fewer rows where tenants signed in: the second
    # covers tenants 37 to 73, none flagged, and still leads on.
    assert [len(p.tenants) for p in pages] == [30, 0, 11, 37, 37, 20]
    assert [bool(p.next_page_token) for p in pages] == [True] * 5 + [False]


async def test_one_tenant_is_a_page_of_its_own(ordered, programme):
    order, _ = ordered
    request = pb.GetUtilisationReportRequest(month=MONTH, tenant_id=order[40], page_size=1)
    one = await programme.call("GetUtilisationReport", request, OPERATOR)
    assert [t.tenant_id for t in one.tenants] == [order[40]] and one.next_page_token == ""


@pytest.mark.parametrize(
    "token",
    [
        "not a token",
        keyset.token_after(["Paged 001"]),  # another list's shape
        keyset.token_after([5, str(uuid.uuid4())]),  # (int, id): the alarms' key
        keyset.token_after(["Paged 001", "not an id"]),
        keyset.token_after(["\x00", str(uuid.uuid4())]),  # no name holds NUL (PostgreSQL text cannot)
    ],
    ids=["not-a-token", "another-lists-shape", "the-alarms-key", "not-an-id", "nul-in-name"],
)
async def test_a_token_the_report_did_not_give_out_is_refused(ordered, programme, token):
    _, operator = ordered
    request = pb.GetUtilisationReportRequest(month=MONTH, page_token=token)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await programme.call("GetUtilisationReport", request, OPERATOR)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "page_token" in refused.value.details()
    answer = await operator.query(REPORT_PAGE, month=MONTH, after=token)
    assert [e["extensions"]["code"] for e in answer["errors"]] == ["BAD_USER_INPUT"]


@pytest.mark.parametrize("first", [0, -1, 201])
async def test_a_first_out_of_bounds_is_refused(ordered, first):
    _, operator = ordered
    answer = await operator.query(REPORT_PAGE, month=MONTH, first=first)
    assert [e["extensions"]["code"] for e in answer["errors"]] == ["BAD_USER_INPUT"]
    assert answer.get("data") is None


async def test_the_csv_and_the_deprecated_list_still_hold_every_tenant(ordered, programme):
    order, operator = ordered
    whole = await programme.call(
        "ExportUtilisationReport", pb.ExportUtilisationReportRequest(month=MONTH), OPERATOR
    )
    rows = list(csv.DictReader(io.StringIO(whole.csv)))
    assert [r["tenant_id"] for r in rows] == order and whole.next_page_token == ""
    # The gateway gathers it a page per call: the same text.
    assert data(await operator.query(CSV, month=MONTH))["utilisationReportCsv"] == whole.csv
    listed = data(await operator.query(REPORT, month=MONTH))["utilisationReport"]
    assert [t["tenantId"] for t in listed] == order


async def test_csv_pages_carry_the_header_once(ordered, programme):
    order, _ = ordered
    request = pb.ExportUtilisationReportRequest(month=MONTH, page_size=150)
    first = await programme.call("ExportUtilisationReport", request, OPERATOR)
    request.page_token = first.next_page_token
    second = await programme.call("ExportUtilisationReport", request, OPERATOR)
    assert first.csv.startswith("month,tenant_id,") and not second.csv.startswith("month,")
    assert second.next_page_token == ""
    rows = list(csv.DictReader(io.StringIO(first.csv + second.csv)))
    assert [r["tenant_id"] for r in rows] == order
