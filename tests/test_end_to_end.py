"""End to end on a small generated landing zone: `siyu run` and the `siyu_daily` DAG."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from siyu import contract as C

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

STAGING_KEYS = {
    "stg_crm__contacts": "contact_id",
    "stg_crm__staff": "staff_id",
    "stg_shop__orders": "order_id",
    "stg_shop__refunds": "refund_id",
    "stg_community__messages": "msgid",
    "stg_community__content_pushes": "push_id",
}


@pytest.fixture(scope="module")
def small_landing(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("e2e") / "landing"
    subprocess.run(
        [BIN / "siyu", "generate", "--out", out, "--users", "300", "--days", "40",
         "--start", "2025-03-01", "--seed", "11"],
        check=True, capture_output=True, text=True,
    )
    return out, json.loads((out / "_manifest.json").read_text())


def env_for(tmp: Path, landing: Path) -> dict:
    env = dict(os.environ)
    env.update(
        SIYU_LANDING_ROOT=str(landing),
        SIYU_WAREHOUSE=str(tmp / "wh" / "siyu.duckdb"),
        SIYU_LOG_DIR=str(tmp / "logs"),
        SIYU_TIMEZONE="Asia/Shanghai",
    )
    env.pop("SIYU_RAW_DIR", None)
    return env


def test_siyu_run_builds_staging_and_quarantines_manifest_bad_rows(tmp_path, small_landing):
    landing, manifest = small_landing
    env = env_for(tmp_path, landing)
    proc = subprocess.run(
        [BIN / "siyu", "run", "--as-of", manifest["as_of"]],
        env=env, capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    wh = tmp_path / "wh" / "siyu.duckdb"
    con = duckdb.connect(str(wh), read_only=True)
    for model, key in STAGING_KEYS.items():
        n, distinct = con.execute(
            f"SELECT count(*), count(DISTINCT {key}) FROM staging.{model}"
        ).fetchone()
        assert n > 0 and n == distinct, model
    con.close()
    expected = sum(manifest["bad_rows_injected"].values()) + len(manifest["truncated_files"])
    got = 0
    for s in C.SOURCES:
        rc = duckdb.connect(str(tmp_path / "wh" / "siyu_raw" / f"{s}.duckdb"), read_only=True)
        got += rc.execute("SELECT count(*) FROM quarantine").fetchone()[0]
        rc.close()
    assert got == expected


def test_siyu_run_rerun_is_idempotent(tmp_path, small_landing):
    landing, manifest = small_landing
    env = env_for(tmp_path, landing)
    as_of = manifest["as_of"]
    counts = []
    for extra in ([], ["--from", (date.fromisoformat(as_of) - timedelta(days=5)).isoformat()]):
        subprocess.run([BIN / "siyu", "run", "--as-of", as_of, *extra], env=env, check=True,
                       capture_output=True)
        con = duckdb.connect(str(tmp_path / "wh" / "siyu.duckdb"), read_only=True)
        counts.append({m: con.execute(f"SELECT count(*) FROM staging.{m}").fetchone()[0]
                       for m in STAGING_KEYS})
        con.close()
        rc = duckdb.connect(str(tmp_path / "wh" / "siyu_raw" / "community.duckdb"),
                            read_only=True)
        counts[-1]["raw_messages"] = rc.execute("SELECT count(*) FROM messages").fetchone()[0]
        rc.close()
    assert counts[0] == counts[1]


def test_siyu_daily_dag_carries_a_day_from_landing_to_staging(tmp_path, small_landing):
    """The real DAG (cosmos task group included) through `airflow dags test`."""
    landing, manifest = small_landing
    env = env_for(tmp_path, landing)
    home = tmp_path / "airflow_home"
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__EXECUTOR="LocalExecutor",
        AIRFLOW__COSMOS__ENABLE_TELEMETRY="False",
    )
    subprocess.run([BIN / "airflow", "db", "migrate"], env=env, check=True, capture_output=True)
    proc = subprocess.run(
        [BIN / "airflow", "dags", "test", "siyu_daily", manifest["as_of"]],
        env=env, capture_output=True, text=True,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-5000:]
    assert "state=failed" not in log, log[-5000:]
    con = duckdb.connect(str(tmp_path / "wh" / "siyu.duckdb"), read_only=True)
    n = con.execute("SELECT count(*) FROM staging.stg_shop__orders").fetchone()[0]
    con.close()
    assert n > 0
