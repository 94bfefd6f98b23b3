"""One run at a time per warehouse (siyu.publish: the lock file, the run lease, the per-run
working copy) and audit results tied to the build they audited."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from siyu import publish as wap
from siyu.config import Settings

BIN = Path(sys.executable).parent
HOLD = """
import sys, time
from pathlib import Path
from siyu import publish as wap
from siyu.config import Settings
s = Settings.from_env(warehouse=Path(sys.argv[1]), landing_root=Path(sys.argv[1]).parent)
with wap.warehouse_lock(s, owner="holder-run"):
    print("locked", flush=True)
    time.sleep(60)
"""


def _settings(tmp_path: Path) -> Settings:
    return Settings.from_env(warehouse=tmp_path / "wh" / "siyu.duckdb", landing_root=tmp_path)


def _holder(s: Settings) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(s.warehouse)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_second_run_is_refused_naming_the_owner_then_gets_the_lock_when_it_dies(tmp_path):
    s = _settings(tmp_path)
    holder = _holder(s)
    try:
        recorded = json.loads(wap.lock_path(s).read_text())
        assert recorded["owner"] == "holder-run" and recorded["pid"] == holder.pid
        assert set(recorded) >= {"host", "started_at"}
        t0 = time.monotonic()
        with pytest.raises(wap.WarehouseBusy) as busy:
            with wap.warehouse_lock(s, owner="second-run", wait=1):
                pass
        assert 1 <= time.monotonic() - t0 < 5
        assert (f"in use by holder-run (pid {holder.pid} on {recorded['host']}, started "
                f"{recorded['started_at']})") in str(busy.value)
    finally:
        holder.send_signal(signal.SIGKILL)  # killed: the kernel releases the flock
        holder.wait()
    with wap.warehouse_lock(s, owner="second-run", wait=0):
        assert json.loads(wap.lock_path(s).read_text())["owner"] == "second-run"
    assert wap.lock_path(s).read_text() == ""  # released


def test_a_waiting_run_gets_the_lock_when_the_first_finishes(tmp_path):
    s = _settings(tmp_path)
    holder = _holder(s)
    subprocess.Popen(["sh", "-c", f"sleep 1.5; kill {holder.pid}"])
    t0 = time.monotonic()
    with wap.warehouse_lock(s, owner="patient-run", wait=30):
        waited = time.monotonic() - t0
    holder.wait()
    assert 1.0 <= waited < 10


def test_run_lease_spans_processes_and_frees_when_released_expired_or_stale(tmp_path):
    s = _settings(tmp_path)
    lease = wap.acquire_run_lease(s, "siyu_daily/run-a", wait=0)
    assert lease["owner"] == "siyu_daily/run-a" and lease["lease"] is True
    assert wap.acquire_run_lease(s, "siyu_daily/run-a", wait=0)  # a retried task: same owner
    with pytest.raises(wap.WarehouseBusy, match="siyu_daily/run-a"):
        wap.acquire_run_lease(s, "siyu_build/run-b", wait=0)
    with pytest.raises(wap.WarehouseBusy, match="siyu_daily/run-a"):  # siyu run waits too
        with wap.warehouse_lock(s, owner="cli", wait=0):
            pass
    assert not wap.release_run_lease(s, "siyu_build/run-b")  # not its lease
    # the owner run is finished (Airflow says so): stale, taken over
    lease = wap.acquire_run_lease(s, "siyu_build/run-b", wait=0,
                                  is_stale=lambda h: h["owner"] == "siyu_daily/run-a")
    assert lease["owner"] == "siyu_build/run-b"
    assert wap.release_run_lease(s, "siyu_build/run-b")
    with wap.warehouse_lock(s, owner="cli", wait=0):
        pass
    # an expired lease is free
    from datetime import timedelta
    wap.acquire_run_lease(s, "siyu_daily/run-c", wait=0, ttl=timedelta(seconds=-1))
    assert wap.acquire_run_lease(s, "siyu_daily/run-d", wait=0)["owner"] == "siyu_daily/run-d"


def _siyu_run(landing: Path, warehouse: Path, logs: Path, wait: float) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIYU_")}
    env.update(SIYU_LOG_DIR=str(logs), SIYU_LOCK_WAIT_SECONDS=str(wait))
    return subprocess.Popen(
        [BIN / "siyu", "run", "--landing", landing, "--warehouse", warehouse,
         "--as-of", "2025-03-10", "--json"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_siyu_runs_on_one_warehouse_one_waits_one_refuses(tmp_path):
    """Three real `siyu run` on one warehouse: the first runs; a second with a long wait waits
    for it and then runs; a third with a 1-second wait refuses cleanly, naming the owner. The
    published file is the second run's build, with its own audit results."""
    landing, warehouse = tmp_path / "landing", tmp_path / "wh" / "siyu.duckdb"
    subprocess.run([BIN / "siyu", "generate", "--out", landing, "--users", "300", "--days",
                    "10", "--start", "2025-03-01", "--seed", "1"], check=True, capture_output=True)
    first = _siyu_run(landing, warehouse, tmp_path / "logs1", wait=600)
    lock = warehouse.with_name("siyu.lock")
    for _ in range(600):
        if lock.exists() and lock.read_text().strip():
            break
        time.sleep(0.1)
    owner = json.loads(lock.read_text())
    assert owner["pid"] == first.pid
    second = _siyu_run(landing, warehouse, tmp_path / "logs2", wait=600)
    refused = _siyu_run(landing, warehouse, tmp_path / "logs3", wait=1)
    out3, err3 = refused.communicate(timeout=120)
    assert refused.returncode == 1, out3 + err3
    assert f"in use by {owner['owner']} (pid {first.pid}" in err3
    assert f"started {owner['started_at']}" in err3 and "Traceback" not in err3
    out1, err1 = first.communicate(timeout=900)
    assert first.returncode == 0, out1[-2000:] + err1[-2000:]
    out2, err2 = second.communicate(timeout=900)
    assert second.returncode == 0, out2[-2000:] + err2[-2000:]
    assert "waiting for warehouse" in err2
    runs = [json.loads(out[out.index("{\n"):]) for out in (out1, out2)]
    assert runs[0]["run_id"] != runs[1]["run_id"]

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        builds = con.execute("SELECT build_id, run_id FROM ops.build_info "
                             "WHERE published_at IS NOT NULL ORDER BY published_at").fetchall()
        audited = con.execute("SELECT run_id, build_id, count(*) FROM ops.dq_results "
                              "GROUP BY ALL ORDER BY run_id").fetchall()
    finally:
        con.close()
    assert builds == [(r["publish"]["build_id"], r["run_id"]) for r in runs]
    assert [(build, run) for run, build, _ in audited] == builds  # each audit names its build
    assert all(n > 50 for *_, n in audited)
    assert sorted(p.name for p in warehouse.parent.iterdir()
                  if p.suffix == ".duckdb") == ["siyu.duckdb"]  # no working copy left


def test_the_airflow_failure_callback_keeps_the_failed_build_and_frees_the_lease(tmp_path):
    from types import SimpleNamespace

    from siyu import orchestration as O

    s = _settings(tmp_path)
    ctx = {"params": {"warehouse": str(s.warehouse), "landing_root": str(tmp_path)},
           "dag": SimpleNamespace(dag_id="siyu_daily"), "run_id": "scheduled__2025-03-10",
           "exception": RuntimeError("dbt failed")}
    assert O.lease_owner(ctx) == "siyu_daily/scheduled__2025-03-10"
    wap.acquire_run_lease(s, O.lease_owner(ctx), wait=0)
    working = wap.prepare_working_copy(s, O.working_run_id(ctx))
    working.write_bytes(b"half a build")
    O.release_warehouse(ctx)  # on_failure_callback after the last retry
    assert wap.failed_path(s).read_bytes() == b"half a build" and not working.exists()
    assert wap.acquire_run_lease(s, "siyu_build/next", wait=0)["owner"] == "siyu_build/next"
