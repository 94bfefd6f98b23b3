"""Print what a run produced: raw, quarantine and model row counts (no personal data)."""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb

from . import contract as C
from .config import Settings


def summary(settings: Settings) -> list[str]:
    lines = []
    for source in C.SOURCES:
        path = settings.raw_db(source)
        if not path.exists():
            lines.append(f"raw {source}: (no file)")
            continue
        con = duckdb.connect(str(path), read_only=True)
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
        con = duckdb.connect(str(settings.warehouse), read_only=True)
        try:
            rows = con.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_catalog = current_database() ORDER BY 1, 2"
            ).fetchall()
            for schema, table in rows:
                n = con.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()[0]
                lines.append(f"{schema}.{table}: {n:,} rows")
        finally:
            con.close()
    else:
        lines.append(f"warehouse {settings.warehouse}: not built")
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--warehouse", type=Path)
    args = p.parse_args()
    for line in summary(Settings.from_env(warehouse=args.warehouse)):
        print(line)


if __name__ == "__main__":
    main()
