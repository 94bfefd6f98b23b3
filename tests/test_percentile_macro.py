"""The percentile of PostgreSQL and Spark computed as DuckDB's ``quantile_cont`` does, to the
last bit (dbt_project/macros/cross_db.sql, ``lerp_as_duckdb``): DuckDB evaluates
``lo * (1 - d) + hi * d`` with a fused multiply-add, which the macro emulates in plain double
arithmetic. Here the macro's SQL runs in DuckDB itself (whose SQL arithmetic rounds after every
operation, as PostgreSQL's and Spark's do) on random groups and must equal ``quantile_cont``
in every one; the plain formula, as a check that the test can fail, does not."""

from __future__ import annotations

import random

import duckdb
import jinja2
import pandas as pd
import pytest
from siyu.config import REPO_ROOT

MACROS = REPO_ROOT / "dbt_project" / "macros" / "cross_db.sql"


def _lerp_sql(lo: str, hi: str, d: str) -> str:
    text = MACROS.read_text(encoding="utf-8")
    start = text.index("{% macro lerp_as_duckdb")
    end = text.index("{%- endmacro %}", start) + len("{%- endmacro %}")
    module = jinja2.Environment(extensions=["jinja2.ext.do"]).from_string(
        text[start:end]).module
    return str(module.lerp_as_duckdb(lo, hi, d, "double"))


@pytest.fixture(scope="module")
def groups() -> duckdb.DuckDBPyConnection:
    rng = random.Random(20261129)
    rows = []
    for g in range(4000):
        scale = rng.choice([10.0, 1000.0, 1e5, 1e7])
        for _ in range(rng.randint(2, 40)):
            rows.append((g, round(rng.uniform(0, scale), rng.choice([0, 1, 3]))))
    con = duckdb.connect()
    frame = pd.DataFrame(rows, columns=["g", "v"])  # noqa: F841 (read by name below)
    con.execute("CREATE TABLE t AS SELECT CAST(g AS INTEGER) AS g, CAST(v AS DOUBLE) AS v FROM frame")
    return con


def _mismatches(con: duckdb.DuckDBPyConnection, p: float, formula: str) -> int:
    return con.execute(f"""
        WITH s AS (
            SELECT g, quantile_cont(v, {p}) AS expected, list(v ORDER BY v) AS sorted,
                   CAST(count(*) - 1 AS DOUBLE) * CAST({p} AS DOUBLE) AS rn
            FROM t GROUP BY g
        ),
        n AS (
            SELECT expected, sorted[floor(rn)::INTEGER + 1] AS lo,
                   sorted[ceil(rn)::INTEGER + 1] AS hi, rn - floor(rn) AS d
            FROM s
        )
        SELECT count(*) FILTER (WHERE d > 0 AND {formula} <> expected),
               count(*) FILTER (WHERE d > 0)
        FROM n
    """).fetchone()


@pytest.mark.parametrize("p", [0.5, 0.9, 0.95])
def test_the_macro_equals_quantile_cont_to_the_last_bit(groups, p):
    wrong, interpolated = _mismatches(groups, p, _lerp_sql("lo", "hi", "d"))
    assert interpolated > 1000
    assert wrong == 0


def test_the_plain_formula_differs_in_the_last_bit(groups):
    wrong, _ = _mismatches(groups, 0.9, "(lo * (1 - d) + hi * d)")
    assert wrong > 50
