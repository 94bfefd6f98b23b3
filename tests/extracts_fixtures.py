"""A published warehouse built from code once per test session, for every test that only reads
one (extracts, delivery, end to end). The fixtures ``published_warehouse`` and
``published_landing`` (tests/conftest.py) hand it out.

The landing zone is generated (300 users, 40 days) and `siyu run` ingests, builds, audits and
publishes it, as in production, so the extracts are tested against real marts rather than
hand-made tables. It takes about 40 s, hence session scope; since every module that imports the
fixture gets its own copy of it, the result is cached here so the session builds it once.

`make test` runs two or more workers (pytest-xdist), each a session of its own. The first
worker that needs the warehouse builds it into a folder the workers share
(SIYU_TEST_PUBLISHED_DIR, set by tests/conftest.py), under a file lock; every worker then works
on its own copy of that folder, so no worker sees another's writes (tests/test_extracts.py
opens its copy read-write) and the session builds it once instead of once per worker.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

SIYU = Path(sys.executable).parent / "siyu"
_BUILT: dict[str, tuple[Path, date, Path]] = {}
USERS, DAYS, START, SEED = 300, 40, "2025-03-01", 11


def built_once(tmp_path_factory) -> tuple[Path, date, Path]:
    if "warehouse" not in _BUILT:
        _BUILT["warehouse"] = _own_copy(tmp_path_factory)
    return _BUILT["warehouse"]


def _own_copy(tmp_path_factory) -> tuple[Path, date, Path]:
    """This worker's copy of the shared build (built here first if no worker has yet)."""
    work = tmp_path_factory.mktemp("published_warehouse")
    shared = os.environ.get("SIYU_TEST_PUBLISHED_DIR")
    if not shared:
        return _build(work)
    shared_dir = Path(shared)
    shared_dir.mkdir(parents=True, exist_ok=True)
    built = shared_dir / "built.json"
    with open(shared_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also on a failure
        if not built.exists():
            shutil.rmtree(shared_dir / "build", ignore_errors=True)  # a failed earlier try
            _, as_of, _ = _build(shared_dir / "build")
            built.write_text(json.dumps({"as_of": as_of.isoformat()}))
    shutil.copytree(shared_dir / "build", work, dirs_exist_ok=True)
    as_of = date.fromisoformat(json.loads(built.read_text())["as_of"])
    return work / "wh" / "siyu.duckdb", as_of, work / "landing"


def _build(work: Path) -> tuple[Path, date, Path]:
    work.mkdir(parents=True, exist_ok=True)
    landing = work / "landing"
    subprocess.run(
        [SIYU, "generate", "--out", landing, "--users", str(USERS), "--days", str(DAYS),
         "--start", START, "--seed", str(SEED)],
        check=True, capture_output=True, text=True,
    )
    as_of = date.fromisoformat(json.loads((landing / "_manifest.json").read_text())["as_of"])
    warehouse = work / "wh" / "siyu.duckdb"
    env = dict(os.environ)
    env.update(
        SIYU_LOG_DIR=str(work / "logs"),
        SIYU_TIMEZONE="Asia/Shanghai",
        DBT_TARGET_PATH=str(work / "dbt_target"),  # keep dbt's files out of the repo
        DBT_SEND_ANONYMOUS_USAGE_STATS="False",
    )
    env.pop("SIYU_RAW_DIR", None)
    proc = subprocess.run(
        [SIYU, "run", "--landing", landing, "--warehouse", warehouse,
         "--as-of", as_of.isoformat()],
        env=env, capture_output=True, text=True,
    )
    if proc.returncode != 0:
        pytest.fail(f"siyu run --as-of {as_of} failed:\n{(proc.stdout + proc.stderr)[-6000:]}")
    return warehouse, as_of, landing


# ---------------------------------------------------------------- the reports views, without dbt

REPORTS = Path(__file__).resolve().parents[1] / "dbt_project" / "models" / "reports"
_REF = re.compile(r"""\{\{\s*(bi_ref|ref)\(\s*'([a-z0-9_]+)'\s*\)\s*\}\}""")
SEEDS = ("kpi_catalog", "kpi_targets")


def report_view_sql(name: str) -> str:
    """The SQL of ``models/reports/<name>.sql`` as dbt compiles it for DuckDB: a model reads
    other rpt_ views as ``reports.<name>``, marts as ``marts.<name>``, seeds as
    ``config.<name>`` (the models use no other Jinja)."""
    def relation(m: re.Match) -> str:
        target = m.group(2)
        schema = "reports" if target.startswith("rpt_") else (
            "config" if target in SEEDS else "marts")
        return f"{schema}.{target}"
    sql = _REF.sub(relation, (REPORTS / f"{name}.sql").read_text(encoding="utf-8"))
    assert "{{" not in sql and "{%" not in sql, f"{name}: Jinja this helper does not render"
    return sql


def create_report_views(con, *names: str) -> None:
    """Create the views ``reports.<name>`` (in dependency order: list a view's inputs first)
    on a database of hand-made marts, as dbt would."""
    con.execute("CREATE SCHEMA IF NOT EXISTS reports")
    for name in names:
        con.execute(f"CREATE OR REPLACE VIEW reports.{name} AS {report_view_sql(name)}")


def load_seed(con, name: str) -> None:
    """The dbt seed ``seeds/<name>.csv`` as the table ``config.<name>``."""
    path = REPORTS.parents[1] / "seeds" / f"{name}.csv"
    con.execute("CREATE SCHEMA IF NOT EXISTS config")
    con.execute(f"CREATE TABLE config.{name} AS SELECT * FROM read_csv(?, header = true)",
                [str(path)])
