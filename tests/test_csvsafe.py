"""Formula injection: every CSV Siyu writes for people neutralises text cells a spreadsheet
would run (siyu.csvsafe), and keeps numbers as numbers."""

from __future__ import annotations

import csv
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from siyu import csvsafe
from siyu.extracts import build
from siyu.extracts import tables as T

INCLUDE = Path(__file__).resolve().parents[1] / "include" / "siyu"

HOSTILE = {
    '=HYPERLINK("http://x","y")': '\'=HYPERLINK("http://x","y")',
    "=1+1": "'=1+1",
    "@SUM(A1)": "'@SUM(A1)",
    "+cmd|' /C calc'!A0": "'+cmd|' /C calc'!A0",
    "-2+3": "'-2+3",
    "\t=1+1": "'\t=1+1",
    "\r=1+1": "'\r=1+1",
}


@pytest.mark.parametrize(("value", "expected"), [
    *HOSTILE.items(),
    ("wechat", "wechat"), ("a=b", "a=b"), ("", ""), (None, None),
    ("-3.5", "-3.5"), ("+7", "+7"), ("-1e3", "-1e3"),
    (-3.5, -3.5), (-12, -12), (Decimal("-0.25"), Decimal("-0.25")),
])
def test_safe_cell(value, expected):
    assert csvsafe.safe_cell(value) == expected


def test_extract_csvs_neutralise_hostile_channel_names(tmp_path):
    """cac_by_channel with staff-typed channel names: the text cells are quoted, the money and
    counts (negative ones too) are written as numbers."""
    rows = [(name, date(2025, 3, 1), -3.5, 2, Decimal("12.50")) for name in HOSTILE]
    rows.append(("all", date(2025, 3, 1), 10.0, -1, None))
    [path] = build.write_csvs(tmp_path, [T.Table(T.CAC_BY_CHANNEL, rows)], "en")
    with path.open(encoding="utf-8-sig", newline="") as f:
        read = list(csv.reader(f))
    assert [r[0] for r in read[1:]] == [*HOSTILE.values(), "Company"]  # "all" is a label
    assert read[1][1:] == ["2025-03-01", "-3.5", "2", "12.50"]
    assert read[-1][1:] == ["2025-03-01", "10.0", "-1", ""]


def test_every_csv_writer_of_the_product_uses_the_safe_writer():
    """A new csv.writer / DuckDB CSV COPY must go through siyu.csvsafe or be listed here with
    its reason (the module doc of siyu.csvsafe)."""
    allowed = {
        "csvsafe.py": "the helper itself",
        "generate.py": "siyu.devtools.generate, synthetic landing data: what a source sends",
        "postgres.py": "transfer file read back by PostgreSQL's COPY",
    }
    pattern = re.compile(r"csv\.(writer|DictWriter)\(|FORMAT\s*'?csv|\.to_csv\(|write_csv\(",
                         re.IGNORECASE)
    writers = {p.name for p in INCLUDE.rglob("*.py") if pattern.search(p.read_text())}
    assert writers - set(allowed) == set()
    assert "csvsafe.writer(" in (INCLUDE / "extracts" / "build.py").read_text()
