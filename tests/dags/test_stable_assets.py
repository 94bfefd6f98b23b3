"""Asset names and URIs do not depend on the deployment's paths: two `airflow dags test` runs
on one metadata DB with different SIYU_WAREHOUSE both emit `siyu_marts` and the raw asset
(with a path-dependent URI the second run failed with
AirflowInactiveAssetInInletOrOutletException). A tiny DAG with the real assets keeps it fast."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent

TINY_DAG = '''
import pendulum
from airflow.sdk import DAG, get_current_context, task
from siyu.orchestration import marts_asset, raw_asset, settings

with DAG("siyu_asset_probe", schedule=None, start_date=pendulum.datetime(2025, 3, 1),
         catchup=False):

    @task(outlets=[raw_asset("crm"), marts_asset()])
    def publish():
        ctx = get_current_context()
        ctx["outlet_events"][marts_asset()].extra = {"warehouse": str(settings().warehouse)}
        ctx["outlet_events"][raw_asset("crm")].extra = {"raw_db": str(settings().raw_db("crm"))}

    publish()
'''


def test_assets_are_the_same_whatever_the_warehouse_path(tmp_path):
    from siyu.orchestration import marts_asset, raw_asset

    assert (marts_asset().name, marts_asset().uri) == ("siyu_marts", "siyu://warehouse/marts")
    assert (raw_asset("crm").name, raw_asset("crm").uri) == ("siyu_raw_crm", "siyu://raw/crm")

    dags, home = tmp_path / "dags", tmp_path / "airflow_home"
    dags.mkdir()
    (dags / "probe.py").write_text(TINY_DAG)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SIYU_"))}
    env.update(AIRFLOW_HOME=str(home),
               AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home}/airflow.db",
               AIRFLOW__CORE__DAGS_FOLDER=str(dags), AIRFLOW__CORE__LOAD_EXAMPLES="False",
               AIRFLOW__CORE__EXECUTOR="LocalExecutor", SIYU_TASK_RETRIES="0")
    subprocess.run([BIN / "airflow", "db", "migrate"], env=env, check=True, capture_output=True)
    for n, day in ((1, "2025-03-01"), (2, "2025-03-02")):
        run_env = {**env, "SIYU_WAREHOUSE": str(tmp_path / f"deployment{n}" / "siyu.duckdb")}
        proc = subprocess.run([BIN / "airflow", "dags", "test", "siyu_asset_probe", day],
                              env=run_env, capture_output=True, text=True, timeout=600)
        log = proc.stdout + proc.stderr
        assert proc.returncode == 0 and "state=failed" not in log, log[-4000:]
        assert "InactiveAsset" not in log, log[-4000:]

    con = sqlite3.connect(home / "airflow.db")
    try:
        assets = con.execute("SELECT name, uri FROM asset ORDER BY name").fetchall()
        events = con.execute("SELECT a.name, e.extra FROM asset_event e JOIN asset a "
                             "ON a.id = e.asset_id ORDER BY e.id").fetchall()
    finally:
        con.close()
    assert assets == [("siyu_marts", "siyu://warehouse/marts"), ("siyu_raw_crm", "siyu://raw/crm")]
    marts = [json.loads(extra)["warehouse"] for name, extra in events if name == "siyu_marts"]
    assert marts == [str(tmp_path / f"deployment{n}" / "siyu.duckdb") for n in (1, 2)]
