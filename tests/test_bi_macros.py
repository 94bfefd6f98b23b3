"""The Spark BI views' comments (dbt_project/macros/bi.sql): a column comment longer than the
Hive metastore keeps (256 characters) is cut, since a longer one costs ~20 s per view while
the metastore client retries (benchmarks/results.md); shorter ones pass whole."""

from __future__ import annotations

import jinja2
import pytest
from siyu.config import REPO_ROOT

MACROS = REPO_ROOT / "dbt_project" / "macros" / "bi.sql"


@pytest.fixture(scope="module")
def macros():
    return jinja2.Environment(extensions=["jinja2.ext.do"]).from_string(
        MACROS.read_text(encoding="utf-8")).module


def _text(literal: str) -> str:
    literal = str(literal)
    assert literal[0] == literal[-1] == "'", literal
    return literal[1:-1]


def test_a_long_column_comment_is_cut_to_what_the_metastore_keeps(macros) -> None:
    limit = int(str(macros.spark_column_comment_chars()))
    assert limit == 256
    long = "The as-of day's value is NULL while the KPI matures. " * 10  # 540 characters
    cut = _text(macros.spark_comment(long, limit))
    assert len(cut) == 256 and cut.endswith("…")
    assert cut[:-1] == " ".join(long.split()).replace("'", "’")[:255]
    assert "'" not in cut


def test_a_short_comment_and_the_view_comment_stay_whole(macros) -> None:
    text = "Department, or `all`\n   (as in kpi_department_daily)."
    assert _text(macros.spark_comment(text, 256)) == "Department, or `all` (as in kpi_department_daily)."
    exactly = "x" * 256
    assert _text(macros.spark_comment(exactly, 256)) == exactly
    long = "word " * 200
    assert _text(macros.spark_comment(long)) == " ".join(long.split())  # no limit given
