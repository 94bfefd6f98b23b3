"""Two warehouses compared table by table: the rows of every staging, intermediate, mart and
audit table that are in one and not the other (the incremental tests: N daily runs against one
full build)."""

from __future__ import annotations

from pathlib import Path

import duckdb

# history that depends on the sequence of runs by design (it records each run)
RUN_HISTORY = {"audit_identity__assignments", "audit_identity__user_id_changes"}


def tables(con: duckdb.DuckDBPyConnection, db: str) -> set[tuple[str, str]]:
    rows = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_catalog = ? AND table_schema IN ('staging', 'intermediate', 'marts', 'audit')",
        [db],
    ).fetchall()
    return {(s, t) for s, t in rows if t not in RUN_HISTORY}


def differences(daily_wh: Path, full_wh: Path) -> dict[str, int]:
    """Rows in one warehouse and not the other, per staging/intermediate/mart/audit table
    (the run history tables aside; _load_id differs by design)."""
    con = duckdb.connect()
    con.execute(f"ATTACH '{daily_wh}' AS daily (READ_ONLY)")
    con.execute(f"ATTACH '{full_wh}' AS full_build (READ_ONLY)")
    daily_tables, full_tables = tables(con, "daily"), tables(con, "full_build")
    assert daily_tables == full_tables
    assert ("marts", "kpi_department_daily") in full_tables or ("marts", "dim_users") in full_tables
    differences = {}
    for schema, table in sorted(full_tables):
        columns = [
            r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_catalog = 'full_build'"
                " AND table_schema = ? AND table_name = ? AND column_name NOT IN ('_load_id')"
                " ORDER BY ordinal_position", [schema, table]).fetchall()
        ]
        cols = ", ".join(f'"{c}"' for c in columns)
        a = f"SELECT {cols} FROM daily.{schema}.{table}"
        b = f"SELECT {cols} FROM full_build.{schema}.{table}"
        n = con.execute(f"SELECT count(*) FROM (({a} EXCEPT ALL {b}) UNION ALL ({b} EXCEPT ALL {a}))"
                        ).fetchone()[0]
        if n:
            differences[f"{schema}.{table}"] = n
    con.close()
    return differences
