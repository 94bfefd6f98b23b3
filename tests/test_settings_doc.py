"""Every SIYU_* setting is documented where it is read, and docs/settings.md is the list
generated from the code (``siyu settings --markdown``)."""

from __future__ import annotations

import re
from pathlib import Path

from siyu import settings_doc

REPO = Path(__file__).resolve().parents[1]
# where settings are read: the package, the DAG files, the dbt profile and macros, the Makefile
READERS = [*(REPO / "include").rglob("*.py"), *(REPO / "dags").glob("*.py"),
           REPO / "dbt_project" / "profiles.yml", *(REPO / "dbt_project" / "macros").glob("*.sql"),
           REPO / "Makefile"]
NAME = re.compile(r"\bSIYU_[A-Z0-9_]*[A-Z0-9]\b")
# names that are prefixes in prose (SIYU_PG_* ...) or placeholders, not variables
PREFIXES = {"SIYU_PG", "SIYU_PG_BI", "SIYU_SMTP", "SIYU_ALERT", "SIYU_NAME"}


def test_every_setting_the_code_reads_is_documented():
    used = {n for path in READERS for n in NAME.findall(path.read_text(encoding="utf-8"))}
    documented = {s.name for s in settings_doc.collect()}
    assert len(used) > 40
    assert used - PREFIXES - documented == set()
    assert documented - used == set()  # no documented setting that nothing reads


def test_a_continued_row_joins_the_row_above_and_pointer_rows_are_skipped():
    doc = """x

| variable | meaning | default |
|---|---|---|
| SIYU_A | first half | `1` |
|        | second half |   |
| SIYU_B_* | see elsewhere | |
"""
    rows = settings_doc._rows(doc)
    assert rows == [["SIYU_A", "first half", "`1`"], ["", "second half", ""],
                    ["SIYU_B_*", "see elsewhere", ""]]


def test_docs_settings_page_is_generated_from_the_code():
    page = (REPO / "docs" / "settings.md").read_text(encoding="utf-8")
    assert page == settings_doc.markdown(), "regenerate: siyu settings --markdown > docs/settings.md"
    assert "| `SIYU_END_DATE` | last business day the schedules create runs for (manual runs" in page
