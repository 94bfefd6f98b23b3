"""dbt's unit tests (the ``unit_tests:`` of the models' yml: each model's SQL against hand-made
input rows and the rows a person worked out by hand). They check the SQL, not the day's data,
so the production build leaves them out (``pipeline.PRODUCTION_BUILD_FLAGS``) and they run
here, once per test session, on a copy of the session's published warehouse (dbt reads the
column types of a unit test's inputs from the built relations)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from siyu.config import REPO_ROOT

DBT = Path(sys.executable).with_name("dbt")
PROJECT = REPO_ROOT / "dbt_project"


def test_every_dbt_unit_test_passes(published_warehouse, tmp_path):
    warehouse, as_of = published_warehouse
    copy = tmp_path / "wh"
    shutil.copytree(warehouse.parent, copy)
    target = tmp_path / "dbt_target"
    env = {**os.environ, "SIYU_WAREHOUSE": str(copy / warehouse.name),
           "SIYU_RAW_DIR": str(copy / "siyu_raw"), "SIYU_ALLOW_DEMO_SALT": "1",
           "DBT_TARGET_PATH": str(target), "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
    proc = subprocess.run(
        [DBT, "test", "--select", "test_type:unit", "--project-dir", PROJECT,
         "--profiles-dir", PROJECT, "--log-path", tmp_path / "logs",
         "--vars", json.dumps({"as_of": as_of.isoformat()})],
        env=env, capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]

    manifest = json.loads((target / "manifest.json").read_text())
    declared = {uid for uid in manifest["unit_tests"]}
    results = json.loads((target / "run_results.json").read_text())["results"]
    ran = {r["unique_id"]: r["status"] for r in results}
    assert len(declared) >= 30  # the project's unit tests, not an empty selection
    assert ran.keys() == declared
    assert set(ran.values()) == {"pass"}
