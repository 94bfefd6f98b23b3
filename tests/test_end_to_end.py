"""End to end on a small generated landing zone: `siyu run` and the `siyu_daily` DAG."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from siyu import contract as C
from siyu import kpi_catalog


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
def small_landing(published_landing) -> tuple[Path, dict]:
    """The session's generated landing (300 users, 40 days): its published warehouse was built
    by `siyu run` once for every test that only reads it (tests/extracts_fixtures.py)."""
    landing, manifest, _warehouse = published_landing
    return landing, manifest


def copy_of_published(published_landing, tmp: Path) -> Path:
    """A copy of the published warehouse folder (warehouse + raw files) for a test that writes
    it; returns the copied warehouse path."""
    _landing, _manifest, warehouse = published_landing
    shutil.copytree(warehouse.parent, tmp / "wh",
                    ignore=shutil.ignore_patterns("*.tmp", "*.lock", "quality"))
    return tmp / "wh" / warehouse.name


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


def test_siyu_run_builds_staging_and_quarantines_manifest_bad_rows(published_landing):
    _landing, manifest, wh = published_landing
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
        rc = duckdb.connect(str(wh.parent / "siyu_raw" / f"{s}.duckdb"), read_only=True)
        got += rc.execute("SELECT count(*) FROM quarantine").fetchone()[0]
        rc.close()
    assert got == expected


PUBLISHED = {  # kpis.md "Published marts": name -> required columns
    "dim_users": {"user_id", "first_seen_at", "source_channel", "owner_staff_id", "department",
                  "is_active_contact", "first_purchase_at", "qualifying_purchases", "ltv",
                  "lifecycle_stage", "rfm_r", "rfm_f", "rfm_m"},
    "dim_user_identifiers": {"identifier_type", "identifier_value", "user_id"},
    "fct_orders": {"order_id", "user_id", "channel", "status", "paid_at", "order_date",
                   "paid_amount", "refunded_amount", "net_revenue", "is_qualifying"},
    "fct_inquiries": {"inquiry_id", "user_id", "staff_id", "department", "started_at",
                      "responded_at", "frt_seconds"},
    "kpi_ltv_cohorts": {"cohort_month", "horizon_days", "channel", "users", "avg_ltv",
                        "is_complete"},
    "kpi_repurchase_90d": {"cohort_month", "channel", "matured_users", "repurchased_users",
                           "repurchase_rate_90d", "immature_users"},
    "kpi_response_daily": {"date", "staff_id", "department", "inquiries", "matured_2h",
                           "answered_2h", "response_rate_2h", "matured_48h", "answered_48h",
                           "response_rate_48h", "frt_p50_seconds", "frt_p90_seconds"},
    "kpi_department_daily": {"date", "department", "kpi", "value", "target", "status"},
}
KPI_NAMES = set(kpi_catalog.names())  # the seed kpi_catalog: one row per department KPI


def test_siyu_run_publishes_every_mart_documented(tmp_path, published_landing):
    """The published marts exist with their required columns in schema `marts`, every KPI of
    the KPI catalog is in kpi_department_daily, and `dbt docs generate` documents every model and
    column of the warehouse (the catalog's columns are all described in the manifest)."""
    landing, manifest, _published = published_landing
    env = env_for(tmp_path, landing)
    copy_of_published(published_landing, tmp_path)  # dbt opens the file for writing
    con = duckdb.connect(str(tmp_path / "wh" / "siyu.duckdb"), read_only=True)
    for mart, required in PUBLISHED.items():
        cols = {r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'marts' AND table_name = ?", [mart]).fetchall()}
        assert required <= cols, (mart, required - cols)
        assert con.execute(f"SELECT count(*) FROM marts.{mart}").fetchone()[0] > 0, mart
    kpis = {r[0] for r in con.execute("SELECT DISTINCT kpi FROM marts.kpi_department_daily")
            .fetchall()}
    statuses = {r[0] for r in con.execute(
        "SELECT DISTINCT status FROM marts.kpi_department_daily").fetchall()}
    con.close()
    assert kpis == KPI_NAMES
    assert statuses <= {"green", "yellow", "red", "no_target", None}

    target = tmp_path / "dbt-target"
    env["SIYU_RAW_DIR"] = str(tmp_path / "wh" / "siyu_raw")  # dbt itself, without `siyu run`
    proc = subprocess.run(
        [BIN / "dbt", "docs", "generate", "--project-dir", REPO / "dbt_project",
         "--profiles-dir", REPO / "dbt_project", "--target-path", target,
         "--vars", json.dumps({"as_of": manifest["as_of"]})],
        env=env, capture_output=True, text=True, cwd=REPO / "dbt_project",
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert (target / "index.html").exists()
    nodes = json.loads((target / "manifest.json").read_text())["nodes"]
    catalog = json.loads((target / "catalog.json").read_text())["nodes"]
    undocumented = []
    for uid, node in nodes.items():
        if node["resource_type"] not in {"model", "seed"} or uid not in catalog:
            continue
        if not (node.get("description") or "").strip():
            undocumented.append(uid)
        described = {c.lower() for c, meta in node["columns"].items()
                     if (meta.get("description") or "").strip()}
        for column in catalog[uid]["columns"]:
            if column.lower() not in described:
                undocumented.append(f"{uid}.{column}")
    assert undocumented == []
    assert {f"model.siyu.{mart}" for mart in PUBLISHED} <= set(catalog)

    # KPIs are defined once: the semantic layer (MetricFlow) gives the marts' numbers
    csv_path = tmp_path / "mf.csv"
    proc = subprocess.run(
        [BIN / "mf", "query", "--metrics", "response_rate_48h,answered_inquiries_48h",
         "--group-by", "metric_time__day,inquiry__department", "--csv", csv_path],
        env={**env, "DBT_PROFILES_DIR": str(REPO / "dbt_project")},
        cwd=REPO / "dbt_project", capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    import csv

    semantic = {
        (row["metric_time__day"][:10], row["inquiry__department"]):
        (int(float(row["answered_inquiries_48h"] or 0)),
         None if row["response_rate_48h"] in ("", None) else round(float(row["response_rate_48h"]), 9))
        for row in csv.DictReader(csv_path.open())
    }
    con = duckdb.connect(str(tmp_path / "wh" / "siyu.duckdb"), read_only=True)
    mart = {
        (str(day), dept): (answered, None if rate is None else round(rate, 9))
        for day, dept, answered, rate in con.execute(
            "SELECT date, department, answered_48h, response_rate_48h "
            "FROM marts.kpi_response_department_daily WHERE department <> 'all' AND inquiries > 0"
        ).fetchall()
    }
    con.close()
    assert semantic and semantic == mart


def test_siyu_run_rerun_is_idempotent(tmp_path, published_landing):
    """The published build (a first `siyu run`), then the same day again with a 5-day
    backfill: the same rows in staging and raw."""
    landing, manifest, _published = published_landing
    env = env_for(tmp_path, landing)
    as_of = manifest["as_of"]
    copy_of_published(published_landing, tmp_path)
    counts = []
    for extra in (None, ["--from", (date.fromisoformat(as_of) - timedelta(days=5)).isoformat()]):
        if extra is not None:
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
        [BIN / "airflow", "dags", "test", "siyu_daily", manifest["as_of"],
         "-f", REPO / "dags" / "siyu_daily.py"],
        env=env, capture_output=True, text=True,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-5000:]
    assert "state=failed" not in log, log[-5000:]
    con = duckdb.connect(str(tmp_path / "wh" / "siyu.duckdb"), read_only=True)
    n = con.execute("SELECT count(*) FROM staging.stg_shop__orders").fetchone()[0]
    marts = {r[0]: r[1] for r in con.execute(
        "SELECT table_name, estimated_size FROM duckdb_tables() WHERE schema_name = 'marts'"
    ).fetchall()}
    kpi_days = con.execute(
        "SELECT count(DISTINCT date) FROM marts.kpi_department_daily").fetchone()[0]
    con.close()
    assert n > 0
    # the DAG carries the day through to the marts
    assert {"dim_users", "fct_orders", "kpi_department_daily"} <= set(marts)
    assert kpi_days > 0
