"""The dbt layers run in order: staging reads sources, intermediate reads staging and
intermediate, marts read anything below them, and the views of bi and reports (the extracts'
tables) read marts. A model of a lower layer never reads one of a higher layer (an intermediate model reading a mart, read back by a mart, hides the real
order of the build). Reads the refs from the SQL files, so it needs no dbt parse."""

from __future__ import annotations

import re
from pathlib import Path

MODELS = Path(__file__).resolve().parents[1] / "dbt_project" / "models"
LAYERS = ("staging", "intermediate", "marts", "bi", "reports")
REF = re.compile(r"""ref\(\s*['"]([a-z0-9_]+)['"]\s*\)""")


def _layer_of() -> dict[str, str]:
    return {p.stem: p.relative_to(MODELS).parts[0] for p in MODELS.rglob("*.sql")}


def test_no_model_reads_a_model_of_a_later_layer():
    layer = _layer_of()
    assert {"staging", "intermediate", "marts", "reports"} <= set(layer.values())
    wrong = []
    for path in MODELS.rglob("*.sql"):
        here = LAYERS.index(layer[path.stem])
        for name in REF.findall(path.read_text(encoding="utf-8")):
            if name in layer and LAYERS.index(layer[name]) > here:
                wrong.append(f"{path.stem} ({layer[path.stem]}) reads {name} ({layer[name]})")
    assert wrong == []


def test_the_check_sees_a_wrong_read():
    assert REF.findall("select * from {{ ref('dim_users') }} join {{ref(\"fct_orders\")}}") == [
        "dim_users", "fct_orders"]


COLUMN_KEYS = {"name", "description", "data_type", "constraints", "data_tests", "meta", "config",
               "granularity", "quote", "tags"}


def _column_key_problems(text: str) -> list[str]:
    import yaml

    doc = yaml.safe_load(text) or {}
    tables = list(doc.get("models") or []) + [
        t for s in doc.get("sources") or [] for t in s.get("tables") or []]
    return [f"{t['name']}.{c.get('name')}: {sorted(set(c) - COLUMN_KEYS)}"
            for t in tables for c in t.get("columns") or [] if set(c) - COLUMN_KEYS]


def test_every_column_entry_parses_as_written():
    """A plain description with ", " inside a one-line mapping (`{name: x, description: a, b}`)
    splits into a second key and loses its end: every column has only dbt's keys."""
    problems = [f"{p.relative_to(MODELS)}: {problem}" for p in MODELS.rglob("*.yml")
                for problem in _column_key_problems(p.read_text(encoding="utf-8"))]
    assert problems == []


def test_the_yml_check_sees_a_split_description():
    assert _column_key_problems(
        "models:\n  - name: m\n    columns:\n      - {name: a, description: One, two.}\n"
    ) == ["m.a: ['two.']"]


def test_the_reports_read_marts_and_reports_only():
    """The extracts' views (models/reports) are computed from the published marts (and seeds),
    never from staging or intermediate models, which BI and the extracts do not read."""
    layer = _layer_of()
    wrong = []
    for path in (MODELS / "reports").glob("*.sql"):
        for name in REF.findall(path.read_text(encoding="utf-8")):
            if layer.get(name, "seed") not in ("marts", "reports", "seed"):
                wrong.append(f"{path.stem} reads {name} ({layer[name]})")
    assert wrong == []


# PostgreSQL cuts no identifier: dbt names a relation after each unit test there, and a name of
# more than 63 characters fails the PostgreSQL build (test_postgres, a slow test) at run time.
POSTGRES_MAX_IDENTIFIER = 63


def _long_unit_test_names(text: str) -> list[str]:
    import yaml

    doc = yaml.safe_load(text) or {}
    return [t["name"] for t in doc.get("unit_tests") or []
            if len(t.get("name", "")) > POSTGRES_MAX_IDENTIFIER]


def test_unit_test_names_fit_a_postgres_identifier():
    files = list(MODELS.rglob("*.yml"))
    names = [n for p in files for n in _long_unit_test_names(p.read_text(encoding="utf-8"))]
    assert any("unit_tests:" in p.read_text(encoding="utf-8") for p in files)
    assert names == []


def test_the_name_check_sees_a_long_name():
    long_name = "test_" + "x" * 59  # 64 characters
    assert _long_unit_test_names(f"unit_tests:\n  - name: {long_name}\n  - name: test_ok\n") == [
        long_name]
