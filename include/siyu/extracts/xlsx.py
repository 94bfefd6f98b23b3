"""The XLSX workbook of an extract (XlsxWriter): headline sheet first, one sheet per table,
native line charts for the trends, and a definitions sheet.

Every table sheet has the same layout (title, blank row, header, data; panes frozen below the
header) so that people and tests find a table's cells in the same place, and prints the same
way: A4 landscape, fit to one page wide, title and header rows repeated on every page.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import xlsxwriter

from .definitions import DEFINITIONS
from .formats import EXCEL_FORMAT, STATUS_COLOURS, TEXT_FORMATS, display, resolve
from .i18n import t
from .tables import Table, period_text

TITLE_ROW, HEADER_ROW, FIRST_DATA_ROW = 0, 2, 3
CHART_HEIGHT_ROWS = 16


def _width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


class _Formats:
    """XlsxWriter formats are workbook objects: create each combination once."""

    def __init__(self, book: xlsxwriter.Workbook):
        self.book = book
        self.cache: dict[tuple, object] = {}

    def get(self, fmt: str = "text", status: str | None = None, header: bool = False):
        key = (fmt, status, header)
        if key not in self.cache:
            props: dict = {"valign": "top"}
            if header:
                props.update(bold=True, bg_color="#1F4E79", font_color="#FFFFFF",
                             text_wrap=True, border=1)
            if fmt in EXCEL_FORMAT:
                props["num_format"] = EXCEL_FORMAT[fmt]
            if status in STATUS_COLOURS:
                fill, font = STATUS_COLOURS[status]
                props.update(bg_color=fill, font_color=font, bold=True)
            if fmt == "title":
                props.update(bold=True, font_size=14)
            if fmt == "wrap":
                props["text_wrap"] = True
            self.cache[key] = self.book.add_format(props)
        return self.cache[key]


def _note(key: str, language: str) -> str:
    return f"{DEFINITIONS[key].text(language)} ({DEFINITIONS[key].section})"


def _sheet_name(label: str, used: set[str]) -> str:
    """Excel allows 31 characters and no duplicates."""
    name = label[:31]
    base, n = name, 2
    while name in used:
        name = f"{base[:28]} {n}"
        n += 1
    used.add(name)
    return name


def _write_table(sheet, formats: _Formats, table: Table, title: str, language: str) -> None:
    sheet.write_string(TITLE_ROW, 0, title, formats.get("title"))
    if table.day is not None:  # what the table covers, under its title
        sheet.write_string(TITLE_ROW + 1, 0, period_text(table.spec.period, table.day, language))
    names = [c.name for c in table.columns]
    widths = [_width(t(n, language)) for n in names]
    for col, column in enumerate(table.columns):
        sheet.write_string(HEADER_ROW, col, t(column.name, language), formats.get(header=True))
        if column.definition:  # the definition as a cell note, besides the definitions sheet
            sheet.write_comment(HEADER_ROW, col, _note(column.definition, language))
    unit_at = names.index("unit") if "unit" in names else None
    for r, row in enumerate(table.rows, start=FIRST_DATA_ROW):
        unit = row[unit_at] if unit_at is not None else None
        for col, (column, value) in enumerate(zip(table.columns, row, strict=True)):
            fmt = resolve(column.fmt, unit)
            status = value if column.fmt == "status" else None
            cell = formats.get(fmt, status)
            widths[col] = max(widths[col], _width(display(value, fmt, language)))
            if value is None:
                sheet.write_blank(r, col, None, cell)
            elif fmt in TEXT_FORMATS:
                sheet.write_string(r, col, display(value, fmt, language), cell)
                if fmt == "kpi" and value in DEFINITIONS:
                    sheet.write_comment(r, col, _note(value, language))
            elif isinstance(value, (datetime, date)):
                sheet.write_datetime(r, col, value, cell)
            elif isinstance(value, (int, float, Decimal)):
                sheet.write_number(r, col, float(value), cell)
            else:
                sheet.write_string(r, col, str(value), cell)
    for col, width in enumerate(widths):
        sheet.set_column(col, col, min(max(width + 2, 8), 50))
    sheet.freeze_panes(FIRST_DATA_ROW, 1 if len(names) > 4 else 0)
    if table.rows:
        sheet.autofilter(HEADER_ROW, 0, HEADER_ROW + len(table.rows), len(names) - 1)
    else:
        sheet.write_string(FIRST_DATA_ROW, 0, t("no_rows", language))


def _add_charts(book, sheet, sheet_name: str, table: Table, language: str) -> None:
    """One native line chart per series, beside the table (units differ between series)."""
    last = FIRST_DATA_ROW + len(table.rows) - 1
    anchor_col = len(table.columns) + 1
    for i, column in enumerate(table.columns[1:], start=1):
        chart = book.add_chart({"type": "line"})
        chart.add_series({
            "name": t(column.name, language),
            "categories": [sheet_name, FIRST_DATA_ROW, 0, last, 0],
            "values": [sheet_name, FIRST_DATA_ROW, i, last, i],
            "marker": {"type": "circle", "size": 4},
        })
        chart.set_title({"name": t(column.name, language), "name_font": {"size": 11}})
        chart.set_legend({"none": True})
        chart.set_x_axis({"date_axis": True, "num_format": "mm-dd"})
        if column.fmt in EXCEL_FORMAT:
            chart.set_y_axis({"num_format": EXCEL_FORMAT[column.fmt]})
        chart.set_size({"width": 560, "height": 300})
        sheet.insert_chart(TITLE_ROW + (i - 1) * CHART_HEIGHT_ROWS + 1, anchor_col, chart)


def _write_definitions(sheet, formats: _Formats, keys: list[str], title: str,
                       language: str) -> None:
    sheet.write_string(TITLE_ROW, 0, title, formats.get("title"))
    for col, name in enumerate(("kpi", "definition", "source")):
        sheet.write_string(HEADER_ROW, col, t(name, language), formats.get(header=True))
    for r, key in enumerate(keys, start=FIRST_DATA_ROW):
        sheet.write_string(r, 0, t(key, language))
        sheet.write_string(r, 1, DEFINITIONS[key].text(language), formats.get("wrap"))
        sheet.write_string(r, 2, DEFINITIONS[key].section)
    sheet.set_column(0, 0, 24)
    sheet.set_column(1, 1, 90)
    sheet.set_column(2, 2, 36)
    sheet.freeze_panes(FIRST_DATA_ROW, 0)


def _print_setup(sheet) -> None:
    """Print settings of every sheet: A4 landscape, one page wide (as many pages tall as it
    takes), the title and header rows repeated at the top of every printed page."""
    sheet.set_landscape()
    sheet.set_paper(9)  # A4
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(TITLE_ROW, HEADER_ROW)
    sheet.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)


def write_workbook(path: Path, tables: list[Table], definitions: list[str], title: str,
                   language: str) -> None:
    book = xlsxwriter.Workbook(str(path), {"remove_timezone": True})
    book.set_properties({"title": title, "comments": t("pii_note", language)})
    formats = _Formats(book)
    used: set[str] = set()
    for table in tables:
        name = _sheet_name(t(table.name, language), used)
        sheet = book.add_worksheet(name)
        _write_table(sheet, formats, table, f"{title} · {t(table.name, language)}", language)
        _print_setup(sheet)
        if table.spec.chart and table.rows:
            _add_charts(book, sheet, name, table, language)
    sheet = book.add_worksheet(_sheet_name(t("definitions", language), used))
    _write_definitions(sheet, formats, definitions, f"{title} · {t('definitions', language)}",
                       language)
    _print_setup(sheet)
    book.close()

