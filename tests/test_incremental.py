"""A sequence of daily incremental runs gives the same warehouse as one full build.

The large staging models (messages, content events, orders) are incremental with a lookback
(macros/incremental.sql); everything downstream is rebuilt from them. This runs the pipeline
day by day on one warehouse (as the daily DAG does, late data and re-deliveries included) and
once from scratch for the last day, then compares every staging model and mart row for row.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

BIN = Path(sys.executable).parent
# history that depends on the sequence of runs by design (it records each run)
RUN_HISTORY = {"audit_identity__assignments", "audit_identity__user_id_changes"}


def _env(tmp: Path, landing: Path, name: str) -> dict:
    env = dict(os.environ)
    env.update(
        SIYU_LANDING_ROOT=str(landing),
        SIYU_WAREHOUSE=str(tmp / name / "siyu.duckdb"),
        SIYU_LOG_DIR=str(tmp / name / "logs"),
        SIYU_TIMEZONE="Asia/Shanghai",
    )
    env.pop("SIYU_RAW_DIR", None)
    return env


def _run(env: dict, as_of: date) -> None:
    proc = subprocess.run([BIN / "siyu", "run", "--as-of", as_of.isoformat()],
                          env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> tuple[Path, date]:
    out = tmp_path_factory.mktemp("inc") / "landing"
    subprocess.run(
        [BIN / "siyu", "generate", "--out", out, "--users", "400", "--days", "45",
         "--start", "2025-05-01", "--seed", "23"],
        check=True, capture_output=True, text=True,
    )
    return out, date.fromisoformat(json.loads((out / "_manifest.json").read_text())["as_of"])


def _tables(con: duckdb.DuckDBPyConnection, db: str) -> set[tuple[str, str]]:
    rows = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_catalog = ? AND table_schema IN ('staging', 'intermediate', 'marts', 'audit')",
        [db],
    ).fetchall()
    return {(s, t) for s, t in rows if t not in RUN_HISTORY}


def test_daily_incremental_runs_equal_a_full_build(tmp_path, landing):
    root, last = landing
    daily = _env(tmp_path, root, "daily")
    days = [last - timedelta(days=n) for n in (4, 3, 2, 1, 0)]
    for day in days:  # the first run loads the whole history up to its day, then one day each
        _run(daily, day)
    full = _env(tmp_path, root, "full")
    _run(full, last)

    con = duckdb.connect()
    con.execute(f"ATTACH '{tmp_path / 'daily' / 'siyu.duckdb'}' AS daily (READ_ONLY)")
    con.execute(f"ATTACH '{tmp_path / 'full' / 'siyu.duckdb'}' AS full_build (READ_ONLY)")
    daily_tables, full_tables = _tables(con, "daily"), _tables(con, "full_build")
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
    assert differences == {}
    # the daily runs after the first really took the incremental path (their compiled SQL
    # reads only the lookback window); the single full build never did
    daily_log = (tmp_path / "daily" / "logs" / "dbt" / "dbt.log").read_text(errors="replace")
    full_log = (tmp_path / "full" / "logs" / "dbt" / "dbt.log").read_text(errors="replace")
    assert "_dt >= coalesce(" in daily_log
    assert "_dt >= coalesce(" not in full_log
