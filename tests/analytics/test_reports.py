"""Plant reports (docs/ANALYTICS.md, "Reports"): the hand-worked shift of the OEE tests as a daily report
over HTTP, in CSV (English) and PDF (Korean, read back with pypdf), the month around it, the words of
both languages, and the refusals."""

from __future__ import annotations

import csv
import io
from datetime import date

import psycopg
import pytest
from pypdf import PdfReader

from services.analytics.reports.service import _days
from services.analytics.reports.strings import STRINGS
from sf.seeding import create_tenant
from tests.analytics.test_production import Plant, hand_worked_site
from tests.e2e.provision import GraphQLClient


@pytest.fixture(scope="module")
async def reported(stack, signer, admin_url):
    """A tenant with the hand-worked shift on a site, and a browser session of its owner."""
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Reports")
    with psycopg.connect(admin_url, autocommit=True) as admin_conn:
        plant = Plant(stack, signer, admin_conn, tenant)
        site, _, machine, _ = await hand_worked_site(plant, "Werk Süd")
        for channel in plant.channels:
            await channel.close()
    client = await GraphQLClient.login(stack.gateway_url, tenant.owner_email, tenant.owner_password)
    yield client, site, machine
    await client.close()


def rows_of(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode())  # spreadsheet programs then read UTF-8
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


async def test_a_daily_report_in_csv_has_the_shifts_oee(reported):
    client, site, _ = reported
    answer = await client.http.get(
        "/reports/plant",
        params={"site": site, "period": "day", "date": "2026-05-04", "lang": "en", "format": "csv"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert "sfcloud-plant-report-2026-05-04-en.csv" in answer.headers["content-disposition"]
    rows = rows_of(answer.content)
    assert ["summary", "Werk Süd", "2026-05-04", "UTC"] == rows[1][:4]
    oee = [r for r in rows if r[0] == "oee"]
    assert oee[0] == ["oee", "Machine", "Availability", "Performance", "Quality", "OEE"]
    # availability 0.8125, performance 0.9, quality 459/468, OEE 20,655/28,800 (test_production.py)
    assert oee[1] == ["oee", "All machines", "81.2%", "90.0%", "98.1%", "71.7%"]
    assert oee[2][1].startswith("M-") and oee[2][2:] == [
        "81.2%",
        "90.0%",
        "98.1%",
        "71.7%",
    ]  # its one machine
    assert [r for r in rows if r[0] == "trend"][1:] == [["trend", "2026-05-04", "71.7%"]]
    assert [r[1:] for r in rows if r[0] == "alarm_counts"][1:] == [
        ["critical", "0"],
        ["warning", "0"],
        ["info", "0"],
    ]
    assert [r[1:] for r in rows if r[0] == "level"][1:] == [["not assessed in this period", "none"]]


async def test_a_monthly_report_in_korean_pdf(reported):
    client, site, _ = reported
    answer = await client.http.get(
        "/reports/plant",
        params={"site": site, "period": "month", "date": "2026-05-17", "format": "pdf"},
        headers={"accept-language": "ko-KR,ko;q=0.9,en;q=0.8"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(answer.content)).pages)
    text = "".join(text.replace("\x00", "").split())  # pypdf puts NULs and spaces between the glyphs
    for words in (
        "월간공장보고서",
        "WerkSüd",
        "2026-05-01to2026-05-31",
        "설비종합효율(OEE)",
        "71.7%",
        "전체설비",
    ):
        assert words in text, words
    assert "2026-05-04" in text and "Monthly" not in text


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({"period": "week"}, 400, "period: must be one of day, month"),
        ({"lang": "fr"}, 400, "language: must be one of en, ko"),
        ({"format": "xlsx"}, 400, "format: must be one of pdf, csv"),
        ({"date": "2026-13-01"}, 400, "date: must be a date"),
        ({"site": "00000000-0000-0000-0000-000000000000"}, 404, "not found"),
    ],
)
async def test_bad_parameters_are_said(reported, params, status, words):
    client, site, _ = reported
    query = {"site": site, "period": "day", "date": "2026-05-04", "lang": "en", "format": "csv"} | params
    answer = await client.http.get("/reports/plant", params=query)
    assert (answer.status_code, words in answer.text) == (status, True), answer.text


async def test_a_machine_is_no_site_and_strangers_get_nothing(reported, stack):
    client, site, machine = reported
    answer = await client.http.get(
        "/reports/plant", params={"site": machine["machine"], "date": "2026-05-04"}
    )
    assert answer.status_code == 404
    anonymous = await client.http.get(
        "/reports/plant", params={"site": site, "date": "2026-05-04"}, headers={"cookie": ""}
    )
    assert anonymous.status_code == 401


def test_both_languages_say_every_word():
    assert STRINGS["en"].keys() == STRINGS["ko"].keys()


def test_a_month_is_its_first_to_its_last_day():
    assert _days("month", date(2026, 2, 14)) == (date(2026, 2, 1), date(2026, 2, 28))
    assert _days("month", date(2028, 2, 29)) == (date(2028, 2, 1), date(2028, 2, 29))
    assert _days("month", date(2026, 12, 31)) == (date(2026, 12, 1), date(2026, 12, 31))
    assert _days("day", date(2026, 5, 4)) == (date(2026, 5, 4), date(2026, 5, 4))
