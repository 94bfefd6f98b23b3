"""benchmarks/bench.py's report of the fixed costs: the lowest ratios they allow, worked out by
hand from made-up step times (no run is timed here)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("siyu_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["siyu_bench"] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("siyu_bench", None)


def _step(seconds: float) -> dict:
    return {"s": seconds, "peak_mb": 100.0}


def _rows(lines: list[str]) -> dict[str, list[str]]:
    """The table rows of ``lines`` by their first cell."""
    out = {}
    for line in lines:
        if line.startswith("| ") and not line.startswith(("| what ", "| check ")):
            cells = [c.strip() for c in line.strip("|").split("|")]
            out[cells[0]] = cells[1:]
    return out


def test_lowest_ratios_follow_from_the_fixed_costs(bench):
    # almost no data: full 22 s, incremental day 24 s; `siyu run` 20 s, the DAG path 50 s, so
    # Airflow's own cost is 50 - 20 = 30 s
    fixed = {"users": 200, "days": 180, "rows": 7000, "steps": {
        "full": _step(22.0), "incremental": _step(24.0),
        "siyu run": _step(20.0), "dag": _step(50.0)}}
    # the DAG check's `siyu run` took 25 s: the DAG path cannot take less than 25 + 30 = 55 s,
    # 55 / 25 = 2.20 of it
    dag = {"users": 10_000, "days": 180, "steps": {"siyu run": _step(25.0), "dag": _step(60.0)}}
    # full runs of 200 s and 300 s: an incremental day of at least 24 s is 0.12 and 0.08 of
    # them; at 1M users the 24 s are within the 60 s target
    scales = [{"users": 100_000, "days": 180, "steps": {"full": _step(200.0)}},
              {"users": 1_000_000, "days": 180, "steps": {"full": _step(300.0)}}]
    args = SimpleNamespace(dag_users=10_000)

    rows = _rows(bench.fixed_costs(fixed, dag, scales, args))

    assert rows["`siyu run` on 200 users: full / incremental day"][0] == "22.0 s / 24.0 s"
    assert rows["the DAG path's own cost on 200 users: `airflow dags test` - `siyu run`"][0] \
        == "30.0 s (50.0 s - 20.0 s)"
    assert rows["DAG path / `siyu run`, 10,000 users"] == [
        "2.20 ((25.0 + 30.0) s / 25.0 s)", "<= 1.3", "no"]
    assert rows["incremental day / full `siyu run`, 100,000 users"] == [
        "0.12 (24.0 s / 200 s)", "<= 0.15", "reachable"]
    assert rows["incremental day / full `siyu run`, 1,000,000 users"] == [
        "0.08 (24.0 s / 300 s)", "<= 0.15", "reachable"]
    assert rows["incremental day, 1,000,000 users (seconds)"] == ["24.0 s", "<= 60 s", "reachable"]


def test_a_failed_fixed_cost_run_reports_no_floor(bench):
    fixed = {"users": 200, "days": 180, "error": "full: exited 1", "steps": {
        "full": {**_step(3.0), "error": "exited 1"}}}
    lines = bench.fixed_costs(fixed, None, [], SimpleNamespace(dag_users=10_000))
    assert lines == ["### Fixed costs", "", "not measured (a step failed)."]
    assert bench.fixed_costs(None, None, [], SimpleNamespace(dag_users=10_000)) == []
