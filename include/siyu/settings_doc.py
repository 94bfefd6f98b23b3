"""Every ``SIYU_*`` setting in one table, generated from the code.

Each module documents the variables it reads in a table of its docstring, next to the code
that reads them (``| SIYU_NAME | meaning | default |``; a row whose first cell is empty
continues the row above; ``SIYU_SMTP_*``-style rows only point to another module). This
collects those tables for ``siyu settings`` and ``docs/settings.md`` (a test keeps the file
equal to ``markdown()`` and fails when the code reads a variable no table documents).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
# the order of the table: the core settings first, then along a run
MODULES = ("config", "db", "pii", "publish", "runner", "targets", "pipeline", "dbt_cli",
           "quality", "postgres", "targets.spark", "orchestration", "alerts", "delivery", "mail",
           "robots")


@dataclass
class Setting:
    name: str
    meaning: str
    default: str
    module: str


def _rows(docstring: str) -> list[list[str]]:
    rows = []
    for line in docstring.splitlines():
        line = line.strip()
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) < 3 or cells[0] == "variable" or (cells[0] and set(cells[0]) <= set("-: ")):
            continue
        rows.append(cells[:3])
    return rows


def collect(package: Path = PACKAGE) -> list[Setting]:
    """The documented settings, each once (the first module in ``MODULES`` order wins)."""
    seen: dict[str, Setting] = {}
    paths = {p.stem: p for p in package.glob("*.py")}
    # the warehouse targets' package (siyu.targets) and its modules (siyu.targets.<engine>)
    paths |= {("targets" if p.stem == "__init__" else f"targets.{p.stem}"): p
              for p in package.glob("targets/*.py")}
    for module in MODULES + tuple(sorted(set(paths) - set(MODULES))):
        if module not in paths:
            continue
        doc = ast.get_docstring(ast.parse(paths[module].read_text(encoding="utf-8"))) or ""
        last: Setting | None = None
        for name, meaning, default in _rows(doc):
            if not name and last is not None:  # a continued row
                last.meaning = f"{last.meaning} {meaning}".strip()
                last.default = f"{last.default} {default}".strip()
                continue
            last = None
            if not name.startswith("SIYU_") or name.endswith("*") or name in seen:
                continue
            last = seen[name] = Setting(name, meaning, default, f"siyu.{module}")
    return list(seen.values())


def markdown(settings: list[Setting] | None = None) -> str:
    """The table of every setting, as docs/settings.md holds it."""
    settings = collect() if settings is None else settings
    lines = [
        "# Settings",
        "",
        "Every setting of Siyu is an environment variable (Airflow passes its Variables and",
        "Params the same way). This page is generated from the tables in the modules' docstrings",
        "(`siyu settings --markdown > docs/settings.md`); edit those, not this file.",
        "",
        "| variable | meaning | default | read by |",
        "|---|---|---|---|",
    ]
    lines += [f"| `{s.name}` | {s.meaning} | {s.default or '(none)'} | `{s.module}` |"
              for s in settings]
    return "\n".join(lines) + "\n"
