"""How a value of each column format looks: Excel number formats, display text, status colours.

The three renderers share these so that a rate reads 41.2% in the workbook, the HTML report
and the e-mail alike.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from .i18n import t

# Excel's own good / neutral / bad cell styles: (fill, font)
STATUS_COLOURS: dict[str, tuple[str, str]] = {
    "green": ("#C6EFCE", "#006100"),
    "yellow": ("#FFEB9C", "#9C5700"),
    "red": ("#FFC7CE", "#9C0006"),
    "no_target": ("#EDEDED", "#404040"),
}
UNIT_FORMAT = {"rate": "pct", "CNY": "money", "CNY/day": "money", "contacts/day": "int", "contacts": "int",
               "seconds": "int", "minutes": "num", "points": "num"}
EXCEL_FORMAT = {
    "int": "#,##0", "pct": "0.0%", "money": '"¥"#,##0.00', "ratio": "0.00", "num": "#,##0.0",
    "date": "yyyy-mm-dd", "month": "yyyy-mm", "datetime": "yyyy-mm-dd hh:mm",
}
TEXT_FORMATS = ("text", "label", "kpi", "status", "bool")


def resolve(fmt: str, unit: str | None) -> str:
    """A ``by_unit`` column takes its format from the row's unit (kpi_department_daily)."""
    if fmt == "by_unit":
        return UNIT_FORMAT.get(unit or "", "num")
    return fmt


def display(value, fmt: str, language: str) -> str:
    """The text of a value as a person reads it (HTML report, e-mail)."""
    if value is None:
        return t("empty_value", language)
    if fmt in ("label", "kpi", "status"):
        return t(str(value), language)
    if fmt == "bool":
        return t("true" if value else "false", language)
    if isinstance(value, datetime) or fmt == "datetime":
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.strftime("%Y-%m") if fmt == "month" else value.isoformat()
    if isinstance(value, Decimal):
        value = float(value)
    if fmt == "int":
        return f"{value:,.0f}"
    if fmt == "pct":
        return f"{value * 100:.1f}%"
    if fmt == "money":
        return f"¥{value:,.2f}"
    if fmt == "ratio":
        return f"{value:.2f}"
    if fmt == "num":
        return f"{value:,.1f}"
    return str(value)


def plain(value, fmt: str, language: str):
    """The value in a CSV cell: numbers as numbers, codes as their labels."""
    if value is None:
        return ""
    if fmt in ("label", "kpi", "status", "bool"):
        return display(value, fmt, language)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return value
