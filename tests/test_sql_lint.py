"""The SQL linter: sqlfluff (.sqlfluff at the repository root: DuckDB dialect, jinja templater
with dbt's builtins, the project's macros and tests/sqlfluff_lib) finds nothing in the models
and singular data tests of dbt_project (`make lint-sql`; `.venv/bin/sqlfluff fix <file>` applies
the layout and case fixes; docs/operations.md, Development). Renders and parses only: no dbt,
no database, a few seconds."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlfluff.core import FluffConfig, Linter

REPO = Path(__file__).resolve().parents[1]
LINTED = ("dbt_project/models", "dbt_project/tests")


@pytest.fixture
def linter(monkeypatch) -> Linter:
    # the config's paths (macros, library) and .sqlfluffignore are the repository root's
    monkeypatch.chdir(REPO)
    return Linter(config=FluffConfig.from_root())


def _violations(records) -> list[str]:
    return [f"{r['filepath']}:{v['start_line_no']}: {v['code']} {v['description']}"
            for r in records for v in r["violations"]]


def test_models_and_data_tests_pass_the_sql_linter(linter):
    records = linter.lint_paths(LINTED, processes=2).as_records()
    linted = {Path(r["filepath"]).resolve() for r in records}
    # the whole project is linted: every model and singular test not in .sqlfluffignore
    ignored = {(REPO / line).resolve() for line in (REPO / ".sqlfluffignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    expected = {p.resolve() for d in LINTED for p in (REPO / d).rglob("*.sql")} - ignored
    assert linted == expected, sorted(map(str, expected ^ linted))
    violations = _violations(records)
    assert not violations, (
        f"{len(violations)} SQL lint violation(s) (`make lint-sql`; fix the layout and case with "
        "`.venv/bin/sqlfluff fix <file>`):\n" + "\n".join(violations))


def test_the_sql_linter_reports_violations(linter):
    """A model in the project's templating (ref, a dispatched project macro) with an upper-case
    keyword, an implicit alias and a long line: each is reported, and the templating is clean."""
    sql = (
        "select\n"
        "    staff_id,\n"
        "    {{ round_double('score', 2) }} AS score,\n"
        "    department dept,\n"
        f"    '{'x' * 120}' as filler\n"
        "from {{ ref('stg_crm__staff') }}\n"
    )
    result = linter.lint_string(sql, fname=str(REPO / "dbt_project/models/lint_probe.sql"))
    rules = {(v.rule_code(), v.line_no) for v in result.violations}
    assert {("CP01", 3), ("AL02", 4), ("LT05", 5)} <= rules, rules
    assert not {code for code, _ in rules} & {"TMP", "PRS"}, rules
    # adapter.dispatch resolved the project macro to its DuckDB (default__) variant
    assert "round(score, 2) AS score" in result.tree.raw
