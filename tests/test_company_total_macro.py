"""The company-wide row (dbt_project/macros/company_total.sql, issue 14): the macros render the
GROUP BY GROUPING SETS the marts used to spell out, and the 'all' rows they give equal the old
second `select ..., 'all' ... union all` over the same rows (counts, distinct counts, medians,
a NULL department), for one total column, every combination of two, and a hierarchy."""

from __future__ import annotations

import random

import duckdb
import jinja2
import pytest
from siyu.config import REPO_ROOT

MACROS = REPO_ROOT / "dbt_project" / "macros" / "company_total.sql"


@pytest.fixture(scope="module")
def macros():
    return jinja2.Environment(extensions=["jinja2.ext.do"]).from_string(
        MACROS.read_text(encoding="utf-8")).module


def test_the_macros_render_the_grouping_sets(macros) -> None:
    assert str(macros.company_total_label("i.department")) == (
        "case when grouping(i.department) = 1 then 'all' else i.department end")
    assert str(macros.group_with_company_total(["date_day"], "department")) == (
        "group by grouping sets ((date_day, department), (date_day))")
    assert str(macros.group_with_company_total(["d"], ["channel", "department"])) == (
        "group by grouping sets ((d, channel, department), (d, channel), (d, department), (d))")
    assert str(macros.group_with_company_total(["c"], ["department", "owner"], nested=True)) == (
        "group by grouping sets ((c, department, owner), (c, department), (c))")


@pytest.fixture(scope="module")
def events() -> duckdb.DuckDBPyConnection:
    rng = random.Random(14)
    con = duckdb.connect()
    con.execute("create table e (d integer, department varchar, owner varchar, u integer, v integer)")
    rows = []
    for _ in range(3000):
        department = rng.choice(["sales", "service", "marketing", None])
        rows.append((rng.randint(1, 20), department, f"{department}-{rng.randint(1, 3)}",
                     rng.randint(1, 200), rng.randint(0, 1000)))
    con.executemany("insert into e values (?, ?, ?, ?, ?)", rows)
    return con


AGGREGATES = "count(*) as n, count(distinct u) as users, sum(v) as total, median(v) as median_v"


def _same(con: duckdb.DuckDBPyConnection, old: str, new: str) -> None:
    assert con.execute(f"select count(*) from ({old}) as o").fetchone()[0] > 0
    for a, b in ((old, new), (new, old)):
        assert con.execute(f"select count(*) from (({a}) except all ({b})) as x").fetchone()[0] == 0


def test_one_total_column_equals_the_union_all(macros, events) -> None:
    new = (f"select d, {macros.company_total_label('department')} as department, {AGGREGATES} "
           f"from e {macros.group_with_company_total(['d'], 'department')}")
    old = (f"select d, department, {AGGREGATES} from ("
           "select d, department, u, v from e union all select d, 'all', u, v from e) as x group by 1, 2")
    _same(events, old, new)


def test_a_hierarchy_equals_the_union_all(macros, events) -> None:
    new = (f"select d, {macros.company_total_label('department')} as department, "
           f"{macros.company_total_label('owner')} as owner, {AGGREGATES} "
           f"from e {macros.group_with_company_total(['d'], ['department', 'owner'], nested=True)}")
    old = (f"select d, department, owner, {AGGREGATES} from ("
           "select d, department, owner, u, v from e union all select d, department, 'all', u, v from e "
           "union all select d, 'all', 'all', u, v from e) as x group by 1, 2, 3")
    _same(events, old, new)


def test_every_combination_equals_the_union_all(macros, events) -> None:
    new = (f"select d, {macros.company_total_label('department')} as department, "
           f"{macros.company_total_label('owner')} as owner, {AGGREGATES} "
           f"from e {macros.group_with_company_total(['d'], ['department', 'owner'])}")
    old = (f"select d, department, owner, {AGGREGATES} from ("
           "select d, department, owner, u, v from e union all select d, department, 'all', u, v from e "
           "union all select d, 'all', owner, u, v from e "
           "union all select d, 'all', 'all', u, v from e) as x group by 1, 2, 3")
    _same(events, old, new)
