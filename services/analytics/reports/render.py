"""A plant report as a file: CSV (one row per table cell row, with its section first, UTF-8 with a byte
order mark so spreadsheet programs open Korean correctly) or PDF (fpdf2, with Noto Sans KR embedded as a
subset so Korean prints on any reader)."""

from __future__ import annotations

import csv
import io
from functools import cache

import pylopdf_fonts_ko
from fpdf import FPDF
from fpdf.fonts import FontFace

from services.analytics.reports.content import PlantReport
from services.analytics.reports.tables import Table, tables

FONT = "NotoSansKR"


def as_csv(report: PlantReport) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for table in tables(report):
        writer.writerow([table.key, *table.header])
        for row in table.rows:
            writer.writerow([table.key, *row])
    return "\ufeff".encode() + out.getvalue().encode()


def as_pdf(report: PlantReport) -> bytes:
    pdf = FPDF(orientation="landscape", format="A4")
    pdf.set_title(f"{report.title} {report.site} {report.period}")
    pdf.set_creator("sfcloud")
    pdf.add_font(FONT, "", _font_path())
    pdf.set_auto_page_break(True, margin=12)
    pdf.add_page()
    summary, *sections = tables(report)
    pdf.set_font(FONT, size=18)
    pdf.cell(text=summary.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, size=10)
    for name, value in zip(summary.header, summary.rows[0], strict=True):
        pdf.cell(text=f"{name}: {value}", new_x="LMARGIN", new_y="NEXT")
    for table in sections:
        _table(pdf, table)
    return bytes(pdf.output())


def _table(pdf: FPDF, table: Table) -> None:
    pdf.ln(4)
    pdf.set_font(FONT, size=13)
    pdf.cell(text=table.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, size=9)
    with pdf.table(headings_style=FontFace(fill_color=(225, 230, 240)), line_height=6) as rows:
        for cells in [table.header, *table.rows]:
            row = rows.row()
            for cell in cells:
                row.cell(cell)


@cache
def _font_path() -> str:
    return str(pylopdf_fonts_ko.sans_path())
