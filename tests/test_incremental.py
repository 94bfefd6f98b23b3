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

import pytest

from .warehouse_compare import differences

BIN = Path(sys.executable).parent


def _env(tmp: Path, landing: Path, name: str) -> dict:
    env = dict(os.environ)
    env.update(
        SIYU_LANDING_ROOT=str(landing),
        SIYU_WAREHOUSE=str(tmp / name / "siyu.duckdb"),
        SIYU_LOG_DIR=str(tmp / name / "logs"),
        SIYU_TIMEZONE="Asia/Shanghai",
        DBT_TARGET_PATH=str(tmp / name / "dbt_target"),
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


def test_daily_incremental_runs_equal_a_full_build(tmp_path, landing):
    root, last = landing
    daily = _env(tmp_path, root, "daily")
    # the first run loads the whole history up to its day, then one day each: three daily
    # runs, so two take the incremental path (the edge cases of late and withdrawn data are in
    # test_incremental_changes.py)
    days = [last - timedelta(days=n) for n in (2, 1, 0)]
    for day in days:
        _run(daily, day)
    full = _env(tmp_path, root, "full")
    _run(full, last)

    assert differences(tmp_path / "daily" / "siyu.duckdb", tmp_path / "full" / "siyu.duckdb") == {}
    # the daily runs after the first really took the incremental path (their compiled SQL
    # reads only the lookback window); the single full build never did
    daily_log = (tmp_path / "daily" / "logs" / "dbt" / "dbt.log").read_text(errors="replace")
    full_log = (tmp_path / "full" / "logs" / "dbt" / "dbt.log").read_text(errors="replace")
    assert "_dt >= coalesce(" in daily_log
    assert "_dt >= coalesce(" not in full_log
