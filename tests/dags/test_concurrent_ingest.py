"""The three ingest DAGs run at the same time (as under the LocalExecutor) without a
DuckDB lock conflict: each source writes its own raw file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb

from ..test_loader import CONTACT_HEADER, contact, jsonl, message, order, write

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DT = date(2025, 3, 1)


def airflow_env(home: Path, landing: Path, warehouse: Path) -> dict:
    env = dict(os.environ)
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home}/airflow.db",
        AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__EXECUTOR="LocalExecutor",
        AIRFLOW__COSMOS__ENABLE_TELEMETRY="False",
        SIYU_LANDING_ROOT=str(landing),
        SIYU_WAREHOUSE=str(warehouse),
        SIYU_DAG_TOPOLOGY="assets",  # the per-source ingest DAGs
    )
    env.pop("SIYU_RAW_DIR", None)
    return env


def test_three_ingest_dags_at_once(tmp_path):
    landing = tmp_path / "landing"
    write(landing, "crm/contacts", "part-1.csv", CONTACT_HEADER + "\n" + contact("C1") + "\n")
    write(landing, "shop/orders", "part-1.jsonl", jsonl(order("T1"), order("T2")))
    write(landing, "community/messages", "part-1.jsonl", jsonl(*[message(f"m{i}") for i in range(3)]))
    warehouse = tmp_path / "wh" / "siyu.duckdb"
    # one migrated metadata DB, copied per process (SQLite allows one writer too)
    base = tmp_path / "home0"
    subprocess.run([BIN / "airflow", "db", "migrate"],
                   env=airflow_env(base, landing, warehouse), check=True, capture_output=True)
    procs = {}
    for source in ("crm", "shop", "community"):
        home = tmp_path / f"home-{source}"
        shutil.copytree(base, home)
        procs[source] = subprocess.Popen(
            [BIN / "airflow", "dags", "test", f"siyu_ingest_{source}", DT.isoformat()],
            env=airflow_env(home, landing, warehouse),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
    for source, p in procs.items():
        out, _ = p.communicate(timeout=600)
        assert p.returncode == 0, out[-4000:]
    expected = {"crm": ("contacts", 1), "shop": ("orders", 2), "community": ("messages", 3)}
    for source, (table, n) in expected.items():
        con = duckdb.connect(str(tmp_path / "wh" / "siyu_raw" / f"{source}.duckdb"), read_only=True)
        assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == n
        assert con.execute("SELECT count(*) FROM load_log").fetchone()[0] > 0
        con.close()
