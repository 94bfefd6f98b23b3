"""Build the department extracts of a day from the published warehouse.

The warehouse is opened read-only and only while the tables are queried (the publish step
swaps the file atomically and must not find it held); rendering happens after it is closed.
"""

from __future__ import annotations

import re
import time
from datetime import date
from pathlib import Path

import duckdb

from .. import csvsafe, db
from .model import AUDIENCES, LANGUAGES, Extract
from .definitions import DEFINITIONS
from .formats import plain
from .html import email_body, write_report
from .i18n import subject, t
from .tables import DEPARTMENT, TARGETS_SQL, Table, fetch, specs
from .xlsx import write_workbook


def available_days(con: duckdb.DuckDBPyConnection) -> tuple[date | None, date | None]:
    """The days a report can be built for: those with department KPIs."""
    return con.execute("SELECT min(date), max(date) FROM marts.kpi_department_daily").fetchone()


def _definitions(tables: list[Table]) -> list[str]:
    """The definitions the extract shows, in order of first appearance."""
    keys: list[str] = []
    for table in tables:
        keys += [c.definition for c in table.columns if c.definition] + list(table.spec.kpis)
        if table.name == "headline":
            keys += [row[0] for row in table.rows]
    return [k for k in dict.fromkeys(keys) if k in DEFINITIONS]


def write_csvs(directory: Path, tables: list[Table], language: str) -> list[Path]:
    """One CSV per table, UTF-8 with BOM so that Excel opens the Chinese labels correctly;
    text cells that a spreadsheet would run as a formula are neutralised (siyu.csvsafe)."""
    paths = []
    for table in tables:
        path = directory / f"{table.name}.csv"
        with path.open("w", encoding="utf-8-sig", newline="") as f:
            writer = csvsafe.writer(f)
            writer.writerow([t(c.name, language) for c in table.columns])
            for row in table.rows:
                writer.writerow([plain(v, c.fmt, language)
                                 for c, v in zip(table.columns, row, strict=True)])
        paths.append(path)
    return paths


def write_staff_todos(directory: Path, tables: list[Table], language: str) -> list[Path]:
    """The to-do list split by staff member: ``todo/<staff_id>.csv`` (the tasks of a staff
    member, most urgent first), for an extract that has a ``todo`` table. Tasks without a
    staff member (a user without an owner) go to ``todo/unassigned.csv``."""
    todo = next((tb for tb in tables if tb.name == "todo"), None)
    if todo is None:
        return []
    by_staff: dict[str, list[tuple]] = {}
    for row in todo.rows:
        by_staff.setdefault(row[0] or "unassigned", []).append(row)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for staff_id, rows in sorted(by_staff.items()):
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", staff_id)
        path = directory / f"{name}.csv"
        write_csvs(directory, [Table(todo.spec, rows, todo.day)], language)
        (directory / "todo.csv").replace(path)
        paths.append(path)
    return paths


def build_extracts(
    warehouse: Path,
    day: date,
    outbox: Path,
    audiences: tuple[str, ...] = AUDIENCES,
    language: str = "zh",
    progress=None,
) -> list[Extract]:
    """Write ``outbox/<day>/<audience>/`` (XLSX, CSVs, HTML) per audience; one Extract each.

    Raises ValueError for an unknown audience or language, or a day the warehouse has no
    KPIs for (the message names the available range).
    """
    say = progress or (lambda _msg: None)
    unknown = [a for a in audiences if a not in AUDIENCES]
    if unknown or language not in LANGUAGES:
        raise ValueError(f"unknown audience {unknown} or language {language!r}: "
                         f"audiences are {AUDIENCES}, languages {LANGUAGES}")
    fetched: dict[str, tuple[list[Table], dict[str, dict[str, tuple]]]] = {}
    seconds: dict[str, float] = {}
    con = db.connect(warehouse, read_only=True)
    try:
        first, last = available_days(con)
        if first is None or not first <= day <= last:
            raise ValueError(f"no KPIs for {day} in {warehouse}: the warehouse has "
                             f"{first} .. {last}" if first else f"no KPIs in {warehouse}")
        for audience in audiences:
            t0 = time.perf_counter()
            dept = DEPARTMENT[audience]
            tables = [fetch(con, spec, day, dept) for spec in specs(audience)]
            targets: dict[str, dict[str, tuple]] = {}
            for department, column, target, status in con.execute(TARGETS_SQL,
                                                                  {"day": day, "dept": dept}
                                                                  ).fetchall():
                targets.setdefault(department, {})[column] = (target, status)
            fetched[audience] = (tables, targets)
            seconds[audience] = time.perf_counter() - t0
    finally:
        con.close()

    extracts = []
    for audience in audiences:
        t0 = time.perf_counter()
        tables, targets = fetched[audience]
        directory = Path(outbox) / day.isoformat() / audience
        directory.mkdir(parents=True, exist_ok=True)
        title = subject(audience, day.isoformat(), language)
        definitions = _definitions(tables)
        xlsx = directory / f"siyu_{audience}_{day.isoformat()}.xlsx"
        html = directory / f"siyu_{audience}_{day.isoformat()}.html"
        write_workbook(xlsx, tables, definitions, title, language)
        write_report(html, tables, targets, DEPARTMENT[audience], definitions, title, language)
        csvs = write_csvs(directory, tables, language)
        write_staff_todos(directory / "todo", tables, language)
        extracts.append(Extract(
            audience=audience, day=day, language=language, directory=directory, xlsx=xlsx,
            html=html, csvs=csvs, subject=title, html_body=email_body(tables[0], title, language),
        ))
        rows = sum(len(tb.rows) for tb in tables)
        say(f"extract {audience}: {len(tables)} tables, {rows} rows, {len(csvs)} CSV, "
            f"query {seconds[audience]:.2f}s, render {time.perf_counter() - t0:.2f}s "
            f"-> {directory}")
    return extracts
