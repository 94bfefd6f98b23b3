"""The KPI catalog: each department KPI's metadata, read from its one home, the dbt seed
``dbt_project/seeds/kpi_catalog.csv`` (documented in ``dbt_project/seeds/_seeds.yml``).

dbt reads the same file (``kpi_department_daily`` takes its KPI list, direction and unit from
it; ``kpi_department_period`` its aggregation rule). Python reads it here, and the extracts
(labels, definitions, formats, each department's KPIs: ``siyu.extracts``), the chat alerts
(``siyu.kpi_alerts``) and the quality warnings (``siyu.quality``) take a KPI's facts from
this module instead of spelling them again. Targets are not facts of a KPI but settings a user
tunes: they stay in ``kpi_targets.csv``.

The file is found where dbt finds it: ``SIYU_DBT_PROJECT_DIR``, else the checkout's
``dbt_project/`` or, in an installed wheel, the bundled copy (``siyu.config.REPO_ROOT``).
Rows are in the order the extracts show the KPIs (the executive summary's order).

    kpis()              -> (Kpi, ...)        every KPI, in the file's order
    get(name)           -> Kpi               KeyError for a name the catalog lacks
    names()             -> (str, ...)
    of_department(d)    -> (str, ...)        the KPIs department d is measured on
    load(path)          -> (Kpi, ...)        read and check a catalog file (ValueError)
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .config import REPO_ROOT, _env_path

#: The columns of the seed, in order (``_seeds.yml`` documents each).
COLUMNS = ("kpi", "unit", "direction", "aggregation", "value_format", "departments", "label_zh",
           "label_en", "definition_section", "definition_zh", "definition_en")
DIRECTIONS = ("higher_is_better", "lower_is_better")
#: how a period aggregates the KPI (kpi_department_period); ``sum`` is also "empty is 0"
AGGREGATIONS = ("sum", "ratio", "last_day", "custom")
#: the display formats of siyu.extracts.formats a KPI value can have
VALUE_FORMATS = ("int", "money", "pct", "num")
UNITS = ("rate", "CNY", "CNY/day", "contacts/day", "seconds", "points")
#: the departments a KPI can be reported for (the executive summary, ``all``, shows every KPI)
DEPARTMENTS = ("marketing", "operations", "sales", "service")


@dataclass(frozen=True)
class Kpi:
    kpi: str
    unit: str  # as kpi_department_daily publishes it
    direction: str  # higher_is_better | lower_is_better
    aggregation: str  # sum | ratio | last_day | custom
    value_format: str  # int | money | pct | num (a duration in seconds shows in minutes)
    departments: tuple[str, ...]  # the departments measured on it
    label_zh: str
    label_en: str
    definition_section: str  # docs/kpi-book.md#<section>
    definition_zh: str
    definition_en: str

    def label(self, language: str) -> str:
        return self.label_zh if language == "zh" else self.label_en

    @property
    def is_duration(self) -> bool:
        """Kept in seconds by the marts, shown in minutes by the extracts and alerts."""
        return self.unit == "seconds"


def catalog_path() -> Path:
    """The seed file dbt loads (``SIYU_DBT_PROJECT_DIR`` or the bundled/checkout project)."""
    return _env_path("SIYU_DBT_PROJECT_DIR", REPO_ROOT / "dbt_project") / "seeds" / "kpi_catalog.csv"


def load(path: Path | str | None = None) -> tuple[Kpi, ...]:
    """Read a catalog file and check it as the seed's dbt tests do (columns, one row per KPI,
    accepted values, no empty cell); a ValueError names the file and the problem."""
    path = Path(path) if path is not None else catalog_path()
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise ValueError(f"{path}: columns {reader.fieldnames}, expected {list(COLUMNS)}")
        rows = list(reader)
    out: list[Kpi] = []
    seen: set[str] = set()
    for line, row in enumerate(rows, start=2):
        empty = [c for c in COLUMNS if not (row.get(c) or "").strip()]
        if empty:
            raise ValueError(f"{path}:{line}: empty {', '.join(empty)}")
        kpi = row["kpi"].strip()
        if kpi in seen:
            raise ValueError(f"{path}:{line}: KPI {kpi!r} twice")
        seen.add(kpi)
        departments = tuple(row["departments"].split())
        for column, value, allowed in (
                ("unit", row["unit"], UNITS), ("direction", row["direction"], DIRECTIONS),
                ("aggregation", row["aggregation"], AGGREGATIONS),
                ("value_format", row["value_format"], VALUE_FORMATS),
                *(("departments", d, DEPARTMENTS) for d in departments)):
            if value not in allowed:
                raise ValueError(f"{path}:{line}: {kpi} has {column} {value!r}, not one of "
                                 f"{list(allowed)}")
        out.append(Kpi(kpi, row["unit"], row["direction"], row["aggregation"],
                       row["value_format"], departments, row["label_zh"], row["label_en"],
                       row["definition_section"], row["definition_zh"], row["definition_en"]))
    return tuple(out)


@cache
def kpis() -> tuple[Kpi, ...]:
    """Every KPI of the catalog, in the file's order (read once per process)."""
    return load()


def names() -> tuple[str, ...]:
    return tuple(k.kpi for k in kpis())


def get(name: str) -> Kpi:
    for k in kpis():
        if k.kpi == name:
            return k
    raise KeyError(f"KPI {name!r} is not in {catalog_path()}")


def of_department(department: str) -> tuple[str, ...]:
    """The KPIs a department is measured on, in the catalog's order; ``all`` (the executive
    summary) has every KPI."""
    if department == "all":
        return names()
    if department not in DEPARTMENTS:
        raise ValueError(f"unknown department {department!r}: {DEPARTMENTS} or 'all'")
    return tuple(k.kpi for k in kpis() if department in k.departments)
