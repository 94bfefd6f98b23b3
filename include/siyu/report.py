"""Print what a run produced: raw and quarantine counts, the marts with their row counts, and
the company's KPIs of the last day with target and status (no personal data)."""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb

from . import db
from . import contract as C
from .config import Settings


def summary(settings: Settings) -> list[str]:
    lines = []
    for source in C.SOURCES:
        path = settings.raw_db(source)
        if not path.exists():
            lines.append(f"raw {source}: (no file)")
            continue
        con = db.connect(path, read_only=True)
        try:
            parts = []
            for e in C.entities_of(source):
                n = con.execute(f'SELECT count(*) FROM "{e.table}"').fetchone()[0]
                parts.append(f"{e.name}={n:,}")
            q = con.execute("SELECT count(*) FROM quarantine").fetchone()[0]
        finally:
            con.close()
        lines.append(f"raw {source}: {', '.join(parts)}; quarantined={q:,}")
    if settings.warehouse.exists():
        con = db.connect(settings.warehouse, read_only=True)
        try:
            rows = con.execute(
                "SELECT schema_name, table_name, estimated_size FROM duckdb_tables() "
                "WHERE database_name = current_database() ORDER BY 1, 2"
            ).fetchall()
            schemas: dict[str, int] = {}
            for schema, _table, _size in rows:
                schemas[schema] = schemas.get(schema, 0) + 1
            lines.append("warehouse: " + ", ".join(f"{s} {n} tables" for s, n in schemas.items()))
            for schema, table, _size in rows:
                if schema == "marts":
                    n = con.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()[0]
                    lines.append(f"  marts.{table}: {n:,} rows")
            if ("marts", "kpi_department_daily") in {(r[0], r[1]) for r in rows}:
                lines += _kpi_lines(con)
        finally:
            con.close()
    else:
        lines.append(f"warehouse {settings.warehouse}: not built")
    return lines


def _kpi_lines(con: duckdb.DuckDBPyConnection) -> list[str]:
    day = con.execute("SELECT max(date) FROM marts.kpi_department_daily").fetchone()[0]
    out = [f"company KPIs on {day} (kpi_department_daily, department 'all'):"]
    for kpi, value, target, status in con.execute(
        "SELECT kpi, value, target, status FROM marts.kpi_department_daily "
        "WHERE date = ? AND department = 'all' ORDER BY kpi", [day]
    ).fetchall():
        shown = "n/a" if value is None else f"{value:,.3f}".rstrip("0").rstrip(".")
        goal = "" if target is None else f" (target {target:g})"
        out.append(f"  {kpi:<26} {shown:>12}{goal:<20} {status or '-'}")
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--warehouse", type=Path)
    args = p.parse_args()
    for line in summary(Settings.from_env(warehouse=args.warehouse)):
        print(line)


if __name__ == "__main__":
    main()
