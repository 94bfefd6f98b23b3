"""The KPI catalog (dbt_project/seeds/kpi_catalog.csv, siyu.kpi_catalog) is the one home of each
department KPI's metadata: the catalog, the targets (kpi_targets.csv), the health marts' SQL and
the KPI names the Python side spells must agree. Fast: reads files, builds nothing (the dbt
tests of the seed and of kpi_department_daily check the built relations)."""

from __future__ import annotations

import csv
import re
import shutil
from itertools import chain
from pathlib import Path

import pytest

from siyu import kpi_catalog
from siyu.config import REPO_ROOT
from siyu.extracts import definitions, formats, i18n, period, tables

SEEDS = REPO_ROOT / "dbt_project" / "seeds"
HEALTH = REPO_ROOT / "dbt_project" / "models" / "marts" / "health"
# the Python modules whose SQL may name a KPI by hand (kpi = '...')
PYTHON_SQL = [Path(m.__file__) for m in (tables, period)] + [
    REPO_ROOT / "include" / "siyu" / name for name in ("kpi_alerts.py", "quality.py")]
# the headline trends that are measures of the extracts, not department KPIs
NOT_KPIS = {"buyer_ltv"}


def python_kpi_names() -> dict[str, set[str]]:
    """Where the Python side names department KPIs, and which."""
    literals = set()
    for path in PYTHON_SQL:
        literals |= set(re.findall(r"\bkpi = '(\w+)'", path.read_text()))
    return {
        "siyu.extracts.tables.OWN_KPIS": set(chain.from_iterable(tables.OWN_KPIS.values())),
        "siyu.extracts.tables.HEADLINE_TRENDS": set(tables.HEADLINE_TRENDS) - NOT_KPIS,
        "kpi = '...' in the SQL of siyu's modules": literals,
    }


def disagreements(catalog: tuple[kpi_catalog.Kpi, ...], targets: list[dict[str, str]],
                  daily_sql: str, period_sql: str, python: dict[str, set[str]]) -> list[str]:
    """What the catalog and the other places that name KPIs disagree on (empty: they agree)."""
    names = [k.kpi for k in catalog]
    problems = []
    targeted: dict[str, set[str]] = {}
    for row in targets:
        targeted.setdefault(row["kpi"], set()).add(row["department"])
    problems += [f"kpi_targets.csv has {k}, the catalog does not" for k in targeted
                 if k not in names]
    for k in catalog:
        if k.kpi not in targeted:
            problems.append(f"{k.kpi}: no row in kpi_targets.csv")
        elif k.aggregation == "sum" and "all" not in targeted[k.kpi]:
            problems.append(f"{k.kpi} is additive (aggregation sum): kpi_targets.csv needs an "
                            "`all` row (the company total is not on a department's scale)")
        if f"'{k.kpi}'" not in daily_sql:
            problems.append(f"{k.kpi}: kpi_department_daily.sql never computes it")
        if k.aggregation == "custom" and f"'{k.kpi}'" not in period_sql:
            problems.append(f"{k.kpi} (aggregation custom): kpi_department_period.sql never "
                            "computes it")
        if not k.departments:
            problems.append(f"{k.kpi}: no department is measured on it")
    for where, used in python.items():
        problems += [f"{where} names {k}, the catalog does not" for k in sorted(used)
                     if k not in names]
    return problems


def repo_inputs(catalog_csv: Path = SEEDS / "kpi_catalog.csv",
                targets_csv: Path = SEEDS / "kpi_targets.csv") -> tuple:
    with open(targets_csv, newline="", encoding="utf-8") as fh:
        targets = list(csv.DictReader(fh))
    return (kpi_catalog.load(catalog_csv), targets, (HEALTH / "kpi_department_daily.sql").read_text(),
            (HEALTH / "kpi_department_period.sql").read_text(), python_kpi_names())


def test_the_catalog_targets_marts_and_python_agree():
    assert disagreements(*repo_inputs()) == []


def test_the_checked_in_catalog_is_the_one_python_reads():
    assert kpi_catalog.catalog_path().resolve() == (SEEDS / "kpi_catalog.csv").resolve()
    assert kpi_catalog.kpis() == kpi_catalog.load(SEEDS / "kpi_catalog.csv")
    assert len(kpi_catalog.names()) == 13


def test_the_extracts_take_labels_definitions_formats_and_departments_from_the_catalog():
    catalog = kpi_catalog.kpis()
    # the executive summary shows every KPI, in the catalog's order; each department its own
    assert tables.OWN_KPIS["executive"] == kpi_catalog.names()
    for audience, department in tables.DEPARTMENT.items():
        assert tables.OWN_KPIS[audience] == tuple(
            k.kpi for k in catalog if department == "all" or department in k.departments)
    for k in catalog:
        assert i18n.t(k.kpi, "zh") == k.label_zh and i18n.t(k.kpi, "en") == k.label_en
        d = definitions.DEFINITIONS[k.kpi]
        assert (d.section, d.zh, d.en) == (f"KPI book: {k.definition_section}",
                                           k.definition_zh, k.definition_en)
        assert tables._KPI_FORMAT[k.kpi] == k.value_format
        # the headline formats a value by its unit (durations in minutes): the same format
        shown_unit = "minutes" if k.is_duration else k.unit
        assert formats.resolve("by_unit", shown_unit) == k.value_format, k.kpi
        assert shown_unit in i18n.LABELS, shown_unit  # the unit column has a label
        assert (k.kpi in tables._TREND_SCALE) == k.is_duration


# --- the checks can fail: a KPI added (or dropped) in one place only --------------------------


def modified_copy(tmp_path: Path, name: str, edit) -> Path:
    path = tmp_path / name
    shutil.copy(SEEDS / name, path)
    path.write_text(edit(path.read_text()), encoding="utf-8")
    return path


CLICK_RATE = ("click_rate,rate,higher_is_better,ratio,pct,operations,点击率,Click rate,"
              "docs/kpi-book.md#content-and-community,点击率 = 点击的去重接收人 / 触达的去重接收人。,"
              "Click rate = distinct recipients who clicked / distinct recipients reached.\n")


def test_a_kpi_added_to_the_catalog_only_is_found(tmp_path):
    catalog = modified_copy(tmp_path, "kpi_catalog.csv", lambda s: s + CLICK_RATE)
    assert disagreements(*repo_inputs(catalog_csv=catalog)) == [
        "click_rate: no row in kpi_targets.csv",
        "click_rate: kpi_department_daily.sql never computes it"]


def test_a_kpi_added_to_the_targets_only_is_found(tmp_path):
    targets = modified_copy(tmp_path, "kpi_targets.csv",
                            lambda s: s + "click_rate,*,0.08,0.2,content click rate\n")
    assert disagreements(*repo_inputs(targets_csv=targets)) == [
        "kpi_targets.csv has click_rate, the catalog does not"]


def test_a_kpi_dropped_from_the_catalog_is_found(tmp_path):
    catalog = modified_copy(tmp_path, "kpi_catalog.csv", lambda s: "\n".join(
        line for line in s.split("\n") if not line.startswith("nps,")))
    found = disagreements(*repo_inputs(catalog_csv=catalog))
    assert "kpi_targets.csv has nps, the catalog does not" in found


def test_a_kpi_named_in_python_only_is_found():
    inputs = list(repo_inputs())
    inputs[4] = {**inputs[4], "kpi = '...' in the SQL of siyu's modules": {"click_rate"}}
    assert disagreements(*inputs) == [
        "kpi = '...' in the SQL of siyu's modules names click_rate, the catalog does not"]


def test_an_additive_kpi_needs_a_company_row(tmp_path):
    targets = modified_copy(tmp_path, "kpi_targets.csv", lambda s: "\n".join(
        line for line in s.split("\n") if not line.startswith("net_revenue,all,")))
    assert disagreements(*repo_inputs(targets_csv=targets)) == [
        "net_revenue is additive (aggregation sum): kpi_targets.csv needs an `all` row (the "
        "company total is not on a department's scale)"]


@pytest.mark.parametrize("edit, message", [
    (lambda s: s.replace("nps,points,higher_is_better", "nps,points,up"), "direction 'up'"),
    (lambda s: s.replace(",custom,num,service,NPS", ",median,num,service,NPS"),
     "aggregation 'median'"),
    (lambda s: s.replace("operations sales", "operations finance"), "departments 'finance'"),
    (lambda s: s + s.split("\n")[1] + "\n", "KPI 'new_contacts' twice"),
    (lambda s: s.replace("kpi,unit,", "name,unit,"), "columns"),
    (lambda s: s.replace(",NPS,NPS,", ",NPS,,"), "empty label_en"),
])
def test_load_rejects_a_broken_catalog(tmp_path, edit, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        kpi_catalog.load(modified_copy(tmp_path, "kpi_catalog.csv", edit))


def test_the_catalog_follows_siyu_dbt_project_dir(tmp_path, monkeypatch):
    (tmp_path / "seeds").mkdir()
    shutil.copy(SEEDS / "kpi_catalog.csv", tmp_path / "seeds" / "kpi_catalog.csv")
    monkeypatch.setenv("SIYU_DBT_PROJECT_DIR", str(tmp_path))
    assert kpi_catalog.catalog_path() == tmp_path / "seeds" / "kpi_catalog.csv"
    assert kpi_catalog.load() == kpi_catalog.kpis()
    with pytest.raises(KeyError, match="click_rate"):
        kpi_catalog.get("click_rate")
