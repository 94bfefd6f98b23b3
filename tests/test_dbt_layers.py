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
