"""Time Siyu's daily job the way it runs: ingest, a full and an incremental ``siyu run``, and
the Airflow DAG path against ``siyu run``, and compare the figures with the performance targets.

    .venv/bin/python benchmarks/bench.py         # 100k and 1M users x 180 days; DAG check at 10k
    .venv/bin/python benchmarks/bench.py --landing-for 1000000=/work/bench/landing1m
    .venv/bin/python benchmarks/bench.py --users 1000000 --dag-users 0 --append \\
        --landing-for 1000000=/work/bench/landing1m
    .venv/bin/python benchmarks/bench.py --users 2000 --days 30 --dag-users 1000 \\
        --out /tmp/bench-smoke.md                                    # smoke test, a few minutes

Per scale (``--users``, repeatable), in a fresh temporary folder:

1. the landing zone: generated (``siyu.devtools.generate``, timed), or reused with
   ``--landing-for USERS=DIR`` (a finished ``siyu generate --users USERS --days DAYS`` output; its
   ``_manifest.json`` gives the as-of day; a 1M landing takes ~17 min to generate);
2. ingest: the three sources, every landed partition up to the as-of day, into a throwaway raw
   folder (per source and total, rows/s; rows = loaded + quarantined);
3. full ``siyu run``: ``.venv/bin/siyu run --landing L --warehouse W --as-of <as_of - 1 day>``
   on an empty warehouse (ingest of every partition + dbt build + audit + publish), the real
   CLI as a subprocess;
4. one incremental day: ``siyu run --as-of <as_of>`` on that warehouse (the as-of day is the
   one partition not loaded yet: the next day lands); ratio incremental / full.

The DAG path against ``siyu run`` (``--dag-users``, default 10,000 users x ``--days``; 0 skips
it), on one landing, each from an empty warehouse: ``siyu run --as-of <as_of>``, then
``airflow dags test siyu_daily <as_of> -f dags/siyu_daily.py`` in a fresh AIRFLOW_HOME
(``airflow db migrate`` before it, not timed). From that run's metadata DB (``task_instance``):
the number of task instances, the duration of the dbt producer task (``dbt.dbt_producer_watcher``,
which runs the one ``dbt build``), the per-model tasks (``dbt.<model>_run`` / ``dbt.<model>.run``)
and the ingest tasks; the as-of day the DAG processed is read from ``resolve_as_of``'s XCom.
This comparison runs first (it is small).

Fixed costs (``--fixed-users``, default 200 users x ``--days``; 0 skips it): on a landing of
almost no data, the full run and the incremental day of a scale (steps 3 and 4) and the two
runs of the DAG check. What they take is what a run costs whatever the data (start-up, ingest,
the ``dbt build`` of every model and test, audit, publish; Airflow's own cost on top for the
DAG path), so the report also gives the lowest ratios these costs allow: an incremental day at
a scale cannot cost less than the incremental day on almost no data, nor the DAG path less than
``siyu run`` plus Airflow's own cost. Then the scales, in the order given.

The dbt project is parsed once per scale before the timed runs (untimed, through ``siyu-dbt``,
which keeps the parsed project), so every timed ``siyu run`` and DAG run is a daily run of a
deployed, unchanged project, which does not parse it again (``siyu.dbt_cli``; parsing costs
~6 s on this machine kind whatever the data size).

Measuring: every step runs in its own forked child (generate, ingest) or subprocess (``siyu``,
``airflow``); seconds are wall seconds of the step, process start-up included. "Peak RSS" is
the largest resident set of one process of the step's tree (``ru_maxrss`` of ``os.wait4``:
the maximum over the process and the descendants it waited for, not their sum); MB = 10^6
bytes. Subprocesses get the caller's environment without any AIRFLOW_* / SIYU_* variable, plus
the paths of the step (``Settings.env()``) and, for Airflow, its home and configuration.
DuckDB's resources come from SIYU_DUCKDB_MEMORY_LIMIT / SIYU_DUCKDB_THREADS (and
SIYU_DUCKDB_TEMP_DIR, SIYU_DBT_THREADS; see include/siyu/db.py): set them when calling this
script to pass them through; the section header records their values.

The dbt project is copied from the working tree at the start, once per scale, and parsed
there (``dbt parse``, untimed, as in a deployment), so a concurrent edit of ``dbt_project/`` or
its ``target/`` does not affect a run; the Python code and ``dags/`` are the working tree's.

Results: one section per invocation in ``--out`` (default benchmarks/results.md, replaced
unless ``--append``) with the command, machine, load average, commit and DuckDB settings, a
summary of the targets (``met`` / ``not met``), then a table for the DAG check and one per
scale. The file is rewritten after every step (the three ingests together), so a later failure
keeps the figures measured so far. A failed step is recorded (seconds, peak RSS, the tail of
its log) and skips the rest of its part (DAG check or scale); the script then goes on with the
next one and exits 1 at the end.

The machine is noisy: compare ratios measured in one run, not absolute figures across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "include"))

from siyu import contract as C  # noqa: E402
from siyu import db  # noqa: E402
from siyu import pipeline  # noqa: E402
from siyu.config import Settings  # noqa: E402
from siyu.devtools.generate import generate  # noqa: E402

BIN = Path(sys.executable).parent
DAG_ID = "siyu_daily"
DAG_FILE = REPO / "dags" / "siyu_daily.py"
PRODUCER_TASK = "dbt.dbt_producer_watcher"
TIMEZONE = "Asia/Shanghai"
PROJECT_PARTS = ("dbt_project.yml", "profiles.yml", "packages.yml", "models", "macros", "seeds",
                 "tests", "analyses", "snapshots", "dbt_packages")
# resource settings of DuckDB and dbt: passed through to every step when the caller sets them
RESOURCE_VARS = ("SIYU_DUCKDB_MEMORY_LIMIT", "SIYU_DUCKDB_THREADS", "SIYU_DUCKDB_TEMP_DIR",
                 "SIYU_DBT_THREADS")

# the targets of the performance issue
TARGET_USERS = 1_000_000  # the scale the absolute targets are for
DAG_RATIO_MAX = 1.3  # DAG path / siyu run, wall seconds
INCR_RATIO_MAX = 0.15  # incremental day / full siyu run, wall seconds
FULL_S_MAX = 350.0  # full siyu run at TARGET_USERS
PEAK_GB_MAX = 12.0  # peak RSS of siyu run (full or incremental) at TARGET_USERS
INCR_S_MAX = 60.0  # incremental day at TARGET_USERS
INGEST_RATE_MIN = 300_000  # rows/s of the ingest step at TARGET_USERS
REPORTED_SCALES = (100_000, TARGET_USERS)  # the summary says when one of them was not run


def log(msg: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {msg}", flush=True)


class StepFailed(RuntimeError):
    """A step failed; it is recorded in the results and the rest of its scale is skipped."""


# --------------------------------------------------------------------------- environment


def base_env() -> dict[str, str]:
    """The caller's environment without AIRFLOW_* / SIYU_*, plus the resource settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "SIYU_"))}
    env.update({k: os.environ[k] for k in RESOURCE_VARS if os.environ.get(k)})
    env.update({
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "NO_COLOR": "1",
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
    })
    return env


def siyu_env(settings: Settings) -> dict[str, str]:
    return {**base_env(), **settings.env()}


def airflow_env(home: Path, settings: Settings) -> dict[str, str]:
    env = siyu_env(settings)
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": settings.timezone,
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "SIYU_TASK_RETRIES": "0",  # a failed task fails the run at once instead of retrying
    })
    return env


def resource_settings() -> str:
    """The DuckDB / dbt resource settings the steps run with (header of the section)."""
    def show(name: str, effective) -> str:
        value = os.environ.get(name)
        return f"{name}={value}" if value else f"{name} unset (default {effective})"

    parts = [show("SIYU_DUCKDB_MEMORY_LIMIT", db.memory_limit()),
             show("SIYU_DUCKDB_THREADS", db.threads())]
    parts += [f"{k}={os.environ[k]}" for k in RESOURCE_VARS[2:] if os.environ.get(k)]
    return ", ".join(parts)


# --------------------------------------------------------------------------- measuring


def _peak_mb(ru) -> float:
    return ru.ru_maxrss * 1024 / 1e6  # Linux: ru_maxrss in KiB


def _tail(text: str, n: int = 25) -> str:
    return "\n".join(text.rstrip().splitlines()[-n:])


def in_child(fn, env: dict[str, str], *args) -> dict:
    """Run ``fn(*args)`` in a forked child with environment ``env``.

    Returns {"s", "peak_mb", "result"}, or {"s", "peak_mb", "error"} when it failed. The
    rusage of ``wait4`` covers the child and the descendants it waited for."""
    r, w = os.pipe()
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
        os.environ.clear()
        os.environ.update(env)
        try:
            payload = (True, fn(*args))
        except BaseException as exc:  # noqa: BLE001 - reported by the parent
            payload = (False, f"{type(exc).__name__}: {exc}")
        with os.fdopen(w, "wb") as fh:
            pickle.dump(payload, fh)
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as fh:
        data = fh.read()
    _, status, ru = os.wait4(pid, 0)
    out = {"s": time.perf_counter() - t0, "peak_mb": _peak_mb(ru)}
    if not data:
        return {**out, "error": f"{fn.__name__}: child died (wait status {status})"}
    ok, result = pickle.loads(data)
    return {**out, "result": result} if ok else {**out, "error": _tail(str(result))}


def run_cmd(cmd: list[str], env: dict[str, str], logfile: Path, cwd: Path | None = None) -> dict:
    """Run a command, its output to ``logfile``. Returns {"s", "peak_mb"}, plus "error"
    (exit code and the log's tail) when it failed."""
    logfile.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with logfile.open("w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
        _, status, ru = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    res = {"s": time.perf_counter() - t0, "peak_mb": _peak_mb(ru)}
    if proc.returncode != 0:
        res["error"] = (f"{' '.join(cmd[:3])} exited {proc.returncode} (log {logfile}):\n"
                        + _tail(logfile.read_text(errors="replace")))
    return res


def record(steps: dict, name: str, measured: dict, **extra) -> dict:
    """Store a measured step under ``name``; raise StepFailed if it failed."""
    step = {k: v for k, v in measured.items() if k in ("s", "peak_mb", "error")}
    steps[name] = {**step, **extra}
    if "error" in measured:
        raise StepFailed(f"{name}: {measured['error']}")
    return steps[name]


def du_mb(path: Path) -> float:
    files = path.rglob("*") if path.is_dir() else [path]
    return sum(p.stat().st_size for p in files if p.is_file()) / 1e6 if path.exists() else 0.0


# --------------------------------------------------------------------------- steps


def step_generate(landing: Path, users: int, days: int, start: date, seed: int) -> dict:
    m = generate(landing, users=users, days=days, start=start, seed=seed)
    return {"as_of": m["as_of"], "rows": sum(m["rows_written"].values())}


def step_ingest(settings: Settings, source: str, as_of: date) -> dict:
    dates = pipeline.dates_to_load(settings, source, as_of)
    s = pipeline.ingest(settings, source, dates)
    return {"rows": s["rows_loaded"] + s["rows_quarantined"], "partitions": len(dates)}


def read_manifest(landing: Path) -> dict:
    return json.loads((landing / "_manifest.json").read_text())


def landing_zone(users: int, args, work: Path, res: dict) -> Path:
    """Generate the scale's landing zone (timed) or take the reused one; set as_of and rows."""
    reused = args.landing_for.get(users)
    if reused:
        m = read_manifest(reused)
        res.update(as_of=m["as_of"], rows=sum(m["rows_written"].values()),
                   landing=f"reused `{reused}` ({m.get('bytes', 0) / 1e6:,.0f} MB)")
        return reused
    landing = work / "landing"
    log(f"{users:,} users: generate {args.days} days")
    g = in_child(step_generate, base_env(), landing, users, args.days,
                 date.fromisoformat(args.start), args.seed)
    if "result" in g:
        res.update(g["result"])
        res["landing"] = f"generated ({du_mb(landing):,.0f} MB)"
    record(res["steps"], "generate", g, rows=res.get("rows"))
    return landing


def prepare_project(src: Path, settings: Settings) -> None:
    """Copy the project snapshot ``src`` to ``settings.dbt_project_dir`` and parse it there
    (target/manifest.json, which cosmos reads; untimed, as in a deployment), through
    ``siyu-dbt`` so the parsed project is saved for the runs, as after a deployment's first
    run: every timed run is a daily run that does not parse the unchanged project again
    (parsing it costs ~6 s, see the note in the report)."""
    project = settings.dbt_project_dir
    log(f"dbt parse in {project} (not timed)")
    shutil.copytree(src, project)
    env = {**siyu_env(settings),
           "SIYU_DBT_MANIFEST_CACHE": str(pipeline.manifest_cache_dir(settings, {}))}
    cmd = [str(BIN / "siyu-dbt"), "ls", "--resource-type", "model", "--quiet",
           "--project-dir", ".", "--profiles-dir", "."]
    m = run_cmd(cmd, env, settings.log_dir / "dbt-parse.log", cwd=project)
    if "error" in m or not (project / "target" / "manifest.json").exists():
        raise StepFailed(f"dbt parse: {m.get('error', 'no target/manifest.json')}")
    if not list(pipeline.manifest_cache_dir(settings, {}).glob("*.msgpack")):
        raise StepFailed("siyu-dbt saved no parsed project")


def scale_settings(work: Path, landing: Path, name: str, project: Path) -> Settings:
    """Settings of one step: its own warehouse (raw beside it) and log folder."""
    return Settings.from_env(
        landing_root=landing, warehouse=work / name / "siyu.duckdb",
        raw_dir=work / name / "siyu_raw", log_dir=work / "logs" / name,
        dbt_project_dir=project, timezone=TIMEZONE,
    )


def siyu_run(settings: Settings, as_of: date) -> dict:
    """``siyu run`` as a subprocess; the JSON summary adds its ingest rows and seconds."""
    cmd = [str(BIN / "siyu"), "run", "--landing", str(settings.landing_root),
           "--warehouse", str(settings.warehouse), "--as-of", as_of.isoformat(), "--json"]
    logfile = settings.log_dir / f"siyu-run-{as_of}.log"
    m = run_cmd(cmd, siyu_env(settings), logfile)
    if "error" not in m:
        text = logfile.read_text(errors="replace")
        try:
            summary, _ = json.JSONDecoder().raw_decode(text[text.rindex("\n{\n") + 1:])
            ingest = summary["ingest"]
            m["ingest_rows"] = sum(i["rows_loaded"] + i["rows_quarantined"] for i in ingest)
            # the step's wall time (its sources load at the same time); older runs: the sum
            m["ingest_s"] = summary.get("ingest_seconds", sum(i["seconds"] for i in ingest))
        except (ValueError, KeyError) as exc:
            m["note"] = f"no JSON summary in {logfile} ({exc})"
    return m


def run_note(m: dict) -> str:
    if "ingest_s" not in m:
        return m.get("note", "")
    return (f"its ingest: {m['ingest_rows']:,} rows in {fmt_s(m['ingest_s'])} s; the rest (dbt "
            f"build, audit, publish, start-up) {fmt_s(m['s'] - m['ingest_s'])} s")


def _ts(value) -> datetime:
    t = datetime.fromisoformat(str(value))
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def task_times(home: Path) -> dict:
    """The task instances of the (only) siyu_daily run in the metadata DB of ``home``."""
    rows, xcom = [], None
    con = sqlite3.connect(home / "airflow.db")
    try:
        rows = con.execute(
            "SELECT task_id, state, start_date, end_date, duration FROM task_instance "
            "WHERE dag_id = ?", [DAG_ID]).fetchall()
        xcom = con.execute(
            "SELECT value FROM xcom WHERE dag_id = ? AND task_id = 'resolve_as_of' "
            "AND key = 'return_value'", [DAG_ID]).fetchone()
    except sqlite3.Error as exc:  # a run that failed early: report what there is
        log(f"reading {home / 'airflow.db'}: {exc}")
    finally:
        con.close()

    def group(pred) -> dict:
        sel = [r for r in rows if pred(r[0]) and r[2] and r[3]]
        if not sel:
            return {"n": 0, "span_s": 0.0, "sum_s": 0.0}
        return {
            "n": len(sel),
            "span_s": (max(_ts(r[3]) for r in sel) - min(_ts(r[2]) for r in sel)).total_seconds(),
            "sum_s": sum(float(r[4] or 0) for r in sel),
        }

    as_of = "?"
    if xcom and xcom[0] is not None:
        value = xcom[0].decode() if isinstance(xcom[0], bytes) else str(xcom[0])
        try:
            as_of = str(json.loads(value))
        except ValueError:
            as_of = value
    return {
        "tasks": len(rows),
        "producer": group(lambda t: t == PRODUCER_TASK),
        "models": group(lambda t: t.startswith("dbt.") and t.endswith(("_run", ".run"))),
        "ingest": group(lambda t: t.startswith("ingest_")),
        "all": group(lambda t: True),
        "not_success": sorted(f"{r[0]}={r[1]}" for r in rows if r[1] != "success"),
        "as_of": as_of,
    }


# --------------------------------------------------------------------------- the two benches


def bench_scale(users: int, args, base: Path, res: dict, save) -> None:
    """Steps 1-4 of one scale into ``res`` (``save()`` after each)."""
    steps = res["steps"]
    work = base / f"u{users}"
    landing = landing_zone(users, args, work, res)
    as_of = date.fromisoformat(res["as_of"])
    save()

    ing = scale_settings(work, landing, "ingest", base / "dbt_project")
    for source in C.SOURCES:
        log(f"{users:,} users: ingest {source}")
        m = in_child(step_ingest, siyu_env(ing), ing, source, as_of)
        r = m.get("result", {})
        record(steps, f"ingest {source}", m, rows=r.get("rows"),
               note=f"{r.get('partitions', '?')} partitions")
    parts = [steps[f"ingest {src}"] for src in C.SOURCES]
    steps["ingest (3 sources)"] = {"s": sum(x["s"] for x in parts),
                                   "rows": sum(x["rows"] for x in parts),
                                   "peak_mb": max(x["peak_mb"] for x in parts)}
    res["raw_mb"] = du_mb(ing.raw_dir)
    shutil.rmtree(ing.warehouse.parent, ignore_errors=True)
    save()

    run = scale_settings(work, landing, "run", work / "dbt_project")
    prepare_project(base / "dbt_project", run)
    full_and_incremental(run, as_of, f"{users:,} users", res, save)


def full_and_incremental(run: Settings, as_of: date, what: str, res: dict, save) -> None:
    """Steps "full" and "incremental" of ``res``: ``siyu run`` of the day before ``as_of`` on
    an empty warehouse, then of ``as_of`` on the same warehouse (its project parsed already)."""
    steps = res["steps"]
    day_before = as_of - timedelta(days=1)
    log(f"{what}: full siyu run --as-of {day_before} (empty warehouse)")
    m = siyu_run(run, day_before)
    record(steps, "full", m, label=f"full `siyu run --as-of {day_before}`, empty warehouse",
           note=run_note(m))
    res["warehouse_mb"] = du_mb(run.warehouse)
    save()

    log(f"{what}: incremental siyu run --as-of {as_of}")
    m = siyu_run(run, as_of)
    record(steps, "incremental", m, label=f"incremental day: `siyu run --as-of {as_of}`",
           note=run_note(m))
    save()


def bench_dag(users: int, args, base: Path, res: dict, save) -> None:
    """``siyu run`` and ``airflow dags test`` from an empty warehouse on one landing."""
    work = base / f"dag-u{users}"
    landing = landing_zone(users, args, work, res)
    as_of = date.fromisoformat(res["as_of"])
    save()
    project = work / "dbt_project"
    prepare_project(base / "dbt_project", scale_settings(work, landing, "run", project))
    dag_steps(work, landing, project, as_of, f"DAG check, {users:,} users", res, save)


def dag_steps(work: Path, landing: Path, project: Path, as_of: date, what: str, res: dict,
              save) -> None:
    """Steps "siyu run" and "dag" of ``res``: ``siyu run --as-of as_of`` and ``airflow dags
    test`` of the same day, each from an empty warehouse (``project`` is parsed already)."""
    steps = res["steps"]
    run = scale_settings(work, landing, "run", project)
    log(f"{what}: siyu run --as-of {as_of} (empty warehouse)")
    m = siyu_run(run, as_of)
    record(steps, "siyu run", m, label=f"`siyu run --as-of {as_of}`", note=run_note(m))
    save()

    dag = scale_settings(work, landing, "dag", project)
    home = work / "airflow_home"
    home.mkdir(parents=True)
    log(f"{what}: airflow db migrate (not timed)")
    m = run_cmd([str(BIN / "airflow"), "db", "migrate"], airflow_env(home, dag),
                dag.log_dir / "airflow-db-migrate.log")
    if "error" in m:
        raise StepFailed(f"airflow db migrate: {m['error']}")
    res["migrate_s"] = m["s"]
    log(f"{what}: airflow dags test {DAG_ID} {as_of} (empty warehouse)")
    m = run_cmd([str(BIN / "airflow"), "dags", "test", DAG_ID, as_of.isoformat(),
                 "-f", str(DAG_FILE)], airflow_env(home, dag), dag.log_dir / "dags-test.log")
    t = task_times(home)
    if "error" not in m and t["not_success"]:
        m["error"] = (f"tasks not successful: {', '.join(t['not_success'])} "
                      f"(log {dag.log_dir / 'dags-test.log'})")
    p, mo, i, a = t["producer"], t["models"], t["ingest"], t["all"]
    other = a["sum_s"] - p["sum_s"] - mo["sum_s"] - i["sum_s"]
    note = (f"{t['tasks']} task instances, {fmt_s(a['span_s'])} s from the first start to the "
            f"last end; producer `{PRODUCER_TASK}` {fmt_s(p['sum_s'])} s; {mo['n']} per-model "
            f"tasks {fmt_s(mo['span_s'])} s (first start to last end); {i['n']} ingest tasks "
            f"{fmt_s(i['span_s'])} s; the other tasks {fmt_s(other)} s in all; as-of day (XCom "
            f"of resolve_as_of) {t['as_of']}")
    res["tasks"] = t
    record(steps, "dag", m, label=f"`airflow dags test {DAG_ID} {as_of} -f dags/siyu_daily.py`",
           note=note)
    save()


def bench_fixed(users: int, args, base: Path, res: dict, save) -> None:
    """What a run costs whatever the data: on a landing of a few users, a full and an
    incremental ``siyu run`` (as in a scale), then ``siyu run`` and ``airflow dags test`` of
    the as-of day from an empty warehouse (as in the DAG check)."""
    work = base / f"fixed-u{users}"
    landing = landing_zone(users, args, work, res)
    as_of = date.fromisoformat(res["as_of"])
    save()
    project = work / "dbt_project"
    chain = scale_settings(work, landing, "chain", project)
    prepare_project(base / "dbt_project", chain)
    full_and_incremental(chain, as_of, f"fixed costs, {users:,} users", res, save)
    dag_steps(work, landing, project, as_of, f"fixed costs, {users:,} users", res, save)


# --------------------------------------------------------------------------- report


def fmt_s(x: float) -> str:
    return f"{x:,.1f}" if x < 100 else f"{x:,.0f}"


def machine() -> str:
    mem = 0.0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem = int(line.split()[1]) / 1024**2
    return (f"{platform.machine()}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, "
            f"Python {platform.python_version()}")


def git(*args: str) -> str:
    out = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
    return out.stdout.strip()


def ok(res: dict | None, name: str) -> dict | None:
    """The step ``name`` of ``res`` if it was measured and succeeded."""
    step = (res or {}).get("steps", {}).get(name)
    return step if step and "error" not in step else None


def missing(res: dict | None) -> str:
    if res is None:
        return "not in this run"
    return "not measured (a step failed)" if res.get("error") else "not measured yet"


def summary(dag: dict | None, scales: list[dict], args) -> list[str]:
    """The targets of the performance issue beside the figures of this run."""
    rows: list[str] = []

    def check(what: str, res: dict | None, measured: str | None, target: str,
              passed: bool | None = None) -> None:
        verdict = "-" if measured is None else ("met" if passed else "not met")
        rows.append(f"| {what} | {measured or missing(res)} | {target} | {verdict} |")

    run, dg = ok(dag, "siyu run"), ok(dag, "dag")
    ratio = dg["s"] / run["s"] if run and dg else None
    check(f"DAG path / `siyu run`, {args.dag_users:,} users" if args.dag_users
          else "DAG path / `siyu run` (`--dag-users 0`)", dag,
          ratio and f"{ratio:.2f} ({fmt_s(dg['s'])} s / {fmt_s(run['s'])} s)",
          f"<= {DAG_RATIO_MAX}", ratio is not None and ratio <= DAG_RATIO_MAX)

    by_users = {r["users"]: r for r in scales}
    for users in sorted(set(by_users) | set(REPORTED_SCALES)):
        r, at = by_users.get(users), f"{users:,} users"
        if r is None:
            check(f"the checks at {at} (no `--users {users}`)", None, None, "")
            continue
        full, incr, ing = ok(r, "full"), ok(r, "incremental"), ok(r, "ingest (3 sources)")
        ratio = incr["s"] / full["s"] if full and incr else None
        check(f"incremental day / full `siyu run`, {at}", r,
              ratio and f"{ratio:.2f} ({fmt_s(incr['s'])} s / {fmt_s(full['s'])} s)",
              f"<= {INCR_RATIO_MAX}", ratio is not None and ratio <= INCR_RATIO_MAX)
        if users != TARGET_USERS:
            rows.append(f"| full `siyu run`, {at} | " + (
                f"{fmt_s(full['s'])} s, peak RSS {full['peak_mb']:,.0f} MB" if full
                else missing(r)) + " | (none) | - |")
            continue
        check(f"full `siyu run`, {at}", r, full and f"{fmt_s(full['s'])} s",
              f"<= {FULL_S_MAX:.0f} s", full is not None and full["s"] <= FULL_S_MAX)
        peaks = [x["peak_mb"] / 1000 for x in (full, incr) if x]
        peak = max(peaks) if peaks else None
        check(f"peak RSS of `siyu run` (full and incremental), {at}", r,
              peak and f"{peak:.1f} GB" + (" (full run only)" if len(peaks) == 1 else ""),
              f"<= {PEAK_GB_MAX:.0f} GB", peak is not None and peak <= PEAK_GB_MAX)
        check(f"incremental day, {at}", r, incr and f"{fmt_s(incr['s'])} s",
              f"<= {INCR_S_MAX:.0f} s", incr is not None and incr["s"] <= INCR_S_MAX)
        rate = ing["rows"] / ing["s"] if ing else None
        check(f"ingest (3 sources), {at}", r, rate and f"{rate:,.0f} rows/s",
              f">= {INGEST_RATE_MIN:,} rows/s", rate is not None and rate >= INGEST_RATE_MIN)
    return ["### Summary: targets", "", "| check | measured | target | |",
            "|---|---:|---:|---|", *rows]


def fixed_costs(fixed: dict | None, dag: dict | None, scales: list[dict], args) -> list[str]:
    """What the runs of the fixed-cost landing say about the ratio targets: a ratio cannot go
    below the cost of the same run on (almost) no data, whatever the SQL does."""
    if fixed is None:
        return []
    full, incr = ok(fixed, "full"), ok(fixed, "incremental")
    run, dg = ok(fixed, "siyu run"), ok(fixed, "dag")
    at = f"{fixed['users']:,} users"
    rows = []
    if full and incr:
        rows.append(f"| `siyu run` on {at}: full / incremental day | {fmt_s(full['s'])} s / "
                    f"{fmt_s(incr['s'])} s | start-up, ingest, `dbt build` of every node, audit, "
                    "publish |")
    airflow = dg["s"] - run["s"] if run and dg else None
    if airflow is not None:
        rows.append(f"| the DAG path's own cost on {at}: `airflow dags test` - `siyu run` | "
                    f"{fmt_s(airflow)} s ({fmt_s(dg['s'])} s - {fmt_s(run['s'])} s) | "
                    "Airflow start-up, DAG parse, the tasks' own run-time (per-model tasks "
                    "included) |")
    if not rows:
        return ["### Fixed costs", "", missing(fixed) + "."]
    lines = ["### Fixed costs: a run on almost no data", "",
             f"A landing of {at} x {fixed['days']} days "
             f"({fixed.get('rows', 0):,} rows), so the runs' time is what they cost whatever the "
             "data.", "", "| what | seconds | made of |", "|---|---:|---|", *rows]
    floors = []
    drun = ok(dag, "siyu run")
    if airflow is not None and drun:
        low = (drun["s"] + airflow) / drun["s"]
        floors.append(f"| DAG path / `siyu run`, {args.dag_users:,} users | {low:.2f} "
                      f"(({fmt_s(drun['s'])} + {fmt_s(airflow)}) s / {fmt_s(drun['s'])} s) | "
                      f"<= {DAG_RATIO_MAX} | {'reachable' if low <= DAG_RATIO_MAX else 'no'} |")
    for r in scales:
        sfull = ok(r, "full")
        if incr and sfull:
            low = incr["s"] / sfull["s"]
            floors.append(f"| incremental day / full `siyu run`, {r['users']:,} users | "
                          f"{low:.2f} ({fmt_s(incr['s'])} s / {fmt_s(sfull['s'])} s) | "
                          f"<= {INCR_RATIO_MAX} | "
                          f"{'reachable' if low <= INCR_RATIO_MAX else 'no'} |")
    if incr and any(r["users"] == TARGET_USERS for r in scales):
        floors.append(f"| incremental day, {TARGET_USERS:,} users (seconds) | "
                      f"{fmt_s(incr['s'])} s | <= {INCR_S_MAX:.0f} s | "
                      f"{'reachable' if incr['s'] <= INCR_S_MAX else 'no'} |")
    if floors:
        lines += ["", "The lowest figures these fixed costs allow (an incremental day costs at "
                  "least the incremental day on almost no data; the DAG path at least `siyu "
                  "run` plus its own cost):", "",
                  "| check | lowest possible | target | within the target? |",
                  "|---|---:|---:|---|", *floors]
    return lines


def step_rows(steps: dict) -> list[str]:
    lines = ["| step | seconds | rows | rows/s | peak RSS MB | notes |",
             "|---|---:|---:|---:|---:|---|"]
    for name, st in steps.items():
        rows = st.get("rows")
        n, rate = (f"{rows:,}", f"{rows / st['s']:,.0f}") if rows else ("", "")
        note = "**failed**, see below" if "error" in st else st.get("note", "")
        lines.append(f"| {st.get('label', name)} | {fmt_s(st['s'])} | {n} | {rate} "
                     f"| {st['peak_mb']:,.0f} | {note} |")
    return lines


def error_block(res: dict) -> list[str]:
    if not res.get("error"):
        return []
    return ["", "Failed, the rest of this part was skipped:", "", "```",
            res["error"].replace("```", "'''"), "```"]


def scale_section(r: dict) -> list[str]:
    lines = [f"### {r['users']:,} users x {r['days']} days (as of {r.get('as_of', '?')})", ""]
    sizes = [f"Landing {r['landing']}" if r.get("landing") else None,
             f"raw {r['raw_mb']:,.0f} MB (ingest step)" if "raw_mb" in r else None,
             f"warehouse {r['warehouse_mb']:,.0f} MB after the full run"
             if "warehouse_mb" in r else None]
    if any(sizes):
        lines += ["; ".join(s for s in sizes if s) + ".", ""]
    lines += step_rows(r["steps"])
    full, incr = ok(r, "full"), ok(r, "incremental")
    if full and incr:
        lines += ["", f"Incremental day / full run: **{incr['s'] / full['s']:.2f}** "
                      f"({fmt_s(incr['s'])} s / {fmt_s(full['s'])} s)."]
    return lines + error_block(r)


def dag_section(d: dict) -> list[str]:
    lines = [f"### DAG path vs `siyu run`: {d['users']:,} users x {d['days']} days "
             f"(as of {d.get('as_of', '?')})", ""]
    if d.get("landing"):
        migrate = f" ({fmt_s(d['migrate_s'])} s)" if "migrate_s" in d else ""
        lines += [f"Landing {d['landing']}. Both runs start from an empty warehouse; "
                  f"`airflow db migrate` of the fresh AIRFLOW_HOME{migrate} is not timed.", ""]
    lines += step_rows(d["steps"])
    run, dg = ok(d, "siyu run"), ok(d, "dag")
    if run and dg:
        p = d["tasks"]["producer"]["sum_s"]
        a = d["tasks"]["all"]
        lines += ["", f"DAG path / `siyu run`: **{dg['s'] / run['s']:.2f}** "
                      f"({fmt_s(dg['s'])} s / {fmt_s(run['s'])} s). The producer task's "
                      f"`dbt build` is {p / dg['s']:.0%} of the DAG run; before the first task "
                      f"and after the last (start-up, DAG parse, end): "
                      f"{fmt_s(dg['s'] - a['span_s'])} s; between the tasks (span - sum of "
                      f"the task durations): {fmt_s(a['span_s'] - a['sum_s'])} s."]
    return lines + error_block(d)


def fixed_section(f: dict) -> list[str]:
    lines = [f"### Fixed costs: {f['users']:,} users x {f['days']} days "
             f"(as of {f.get('as_of', '?')})", ""]
    if f.get("landing"):
        lines += [f"Landing {f['landing']}. The full run and the incremental day share one "
                  "warehouse; `siyu run --as-of` the as-of day and the DAG run each start from "
                  "an empty one.", ""]
    return lines + step_rows(f["steps"]) + error_block(f)


def report(state: dict) -> list[str]:
    args = state["args"]
    cmd = ".venv/bin/python benchmarks/bench.py " + " ".join(sys.argv[1:])
    minutes = (datetime.now(timezone.utc) - state["started"]).total_seconds() / 60
    load = state["load"]
    lines = [
        f"## Run of {state['started']:%Y-%m-%d %H:%M} UTC",
        "",
        f"Command: `{cmd.strip()}`  ",
        f"Machine: {machine()}; load average at start {load[0]:.2f} / {load[1]:.2f} / "
        f"{load[2]:.2f} (shared, noisy)  ",
        f"Code: {state['snapshot']}  ",
        f"DuckDB: {resource_settings()}  ",
        f"Wall time of the whole run: {minutes:.0f} min"
        + ("" if state["done"] else " so far (run incomplete)"),
        "",
    ]
    lines += summary(state["dag"], state["scales"], args) + [""]
    fixed = fixed_costs(state["fixed"], state["dag"], state["scales"], args)
    lines += fixed + ([""] if fixed else [])
    if state["dag"]:
        lines += dag_section(state["dag"]) + [""]
    if state["fixed"]:
        lines += fixed_section(state["fixed"]) + [""]
    for r in state["scales"]:
        lines += scale_section(r) + [""]
    return lines


HEADER = """# Benchmarks

Produced by `benchmarks/bench.py` (its docstring says what each step measures). Each run
section is written by one invocation; compare ratios inside a run, since the machine is
shared and noisy. Seconds are wall seconds of a step's process (start-up included); peak RSS
is the largest resident set of one process of the step (MB = 10^6 bytes).
"""


# --------------------------------------------------------------------------- main


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--users", type=int, action="append",
                    help="a scale; repeatable (default 100,000 and 1,000,000)")
    ap.add_argument("--days", type=int, default=180)
    ap.add_argument("--start", default="2025-01-01", help="first day of generated landings")
    ap.add_argument("--seed", type=int, default=42, help="seed of generated landings")
    ap.add_argument("--landing-for", action="append", default=[], metavar="USERS=DIR",
                    help="reuse the landing zone DIR for the scale of USERS users (and for the\n"
                    "DAG check if --dag-users is USERS) instead of generating it; repeatable")
    ap.add_argument("--dag-users", type=int, default=10_000,
                    help="users of the DAG path vs siyu run check (default 10,000; 0 skips it)")
    ap.add_argument("--fixed-users", type=int, default=200,
                    help="users of the fixed-cost landing (default 200; 0 skips it): a full and\n"
                    "an incremental siyu run and the DAG path on almost no data")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results.md")
    ap.add_argument("--append", action="store_true", help="add a run section to --out")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folders")
    ap.add_argument("--tmp", type=Path, default=None, help="parent of the temporary folders")
    args = ap.parse_args()
    args.users = args.users or [100_000, TARGET_USERS]
    reuse: dict[int, Path] = {}
    for item in args.landing_for:
        users, sep, folder = item.partition("=")
        if not sep or not users.strip().isdigit():
            ap.error(f"--landing-for {item!r}: expected USERS=DIR")
        n, path = int(users), Path(folder).expanduser().resolve()
        if n not in args.users and n not in (args.dag_users, args.fixed_users):
            ap.error(f"--landing-for {item}: no scale of {n:,} users (--users, --dag-users, "
                     "--fixed-users)")
        if not (path / "_manifest.json").is_file():
            ap.error(f"--landing-for {item}: no {path}/_manifest.json (generation unfinished?)")
        m = read_manifest(path)["args"]
        if (m["users"], m["days"]) != (n, args.days):
            ap.error(f"--landing-for {item}: the landing has {m['users']:,} users x "
                     f"{m['days']} days, not {n:,} x {args.days}")
        reuse[n] = path
    args.landing_for = reuse
    return args


def main() -> int:
    args = parse_args()
    head = git("rev-parse", "--short", "HEAD")
    dirty = git("status", "--porcelain", "--", "dbt_project", "include", "dags").splitlines()
    state = {
        "args": args, "started": datetime.now(timezone.utc), "load": os.getloadavg(),
        "snapshot": f"commit {head}" + (f" + {len(dirty)} uncommitted file(s) in dbt_project/, "
                                        "include/, dags/ (working tree)" if dirty else ""),
        "dag": None, "fixed": None, "scales": [], "done": False,
    }
    base = Path(tempfile.mkdtemp(prefix="siyu-bench-", dir=args.tmp))
    src = REPO / "dbt_project"
    (base / "dbt_project").mkdir()
    for part in PROJECT_PARTS:
        p = src / part
        if p.is_dir():
            shutil.copytree(p, base / "dbt_project" / part)
        elif p.exists():
            shutil.copy2(p, base / "dbt_project" / part)
    log(f"{state['snapshot']}; dbt project snapshot and work folders in {base}")
    prefix = (args.out.read_text().rstrip("\n") + "\n\n" if args.append and args.out.exists()
              else HEADER + "\n")

    def save() -> None:
        args.out.write_text(prefix + "\n".join(report(state)).rstrip("\n") + "\n")

    parts = ([("dag", args.dag_users)] if args.dag_users else [])
    parts += [("fixed", args.fixed_users)] if args.fixed_users else []
    parts += [("scale", users) for users in args.users]
    failed = False
    try:
        for kind, users in parts:
            res = {"users": users, "days": args.days, "steps": {}}
            if kind in ("dag", "fixed"):
                state[kind] = res
            else:
                state["scales"].append(res)
            try:
                {"dag": bench_dag, "fixed": bench_fixed, "scale": bench_scale}[kind](
                    users, args, base, res, save)
            except StepFailed as exc:
                failed = True
                res["error"] = str(exc)
                log(f"FAILED: {exc}")
            if not args.keep:
                folder = {"dag": "dag-u", "fixed": "fixed-u", "scale": "u"}[kind]
                shutil.rmtree(base / f"{folder}{users}", ignore_errors=True)
            save()
            log(f"wrote {args.out}")
        state["done"] = True
        save()
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
