"""Time generate, ingest and the dbt build (plain and through cosmos) at several scales.

    .venv/bin/python benchmarks/bench.py                          # 10k and 100k users, 180 days
    .venv/bin/python benchmarks/bench.py --users 2000 --days 30 --out /tmp/smoke.md
    .venv/bin/python benchmarks/bench.py --users 1000000 --skip-cosmos --append

Per scale, in a fresh temporary folder:

1. generate the landing zone (``siyu.generate``);
2. ingest the three sources into raw (every landed partition);
3. plain ``dbt build`` on the empty warehouse (full), as ``siyu run`` does it;
4. the daily re-ingest of the as-of day, then a second plain ``dbt build`` (incremental);
5. the same dbt project through cosmos: ``airflow dags test siyu_daily <as_of>`` in a
   temporary AIRFLOW_HOME, once on the warehouse of step 4 (incremental) and once after
   deleting the warehouse (full). The dbt time of a run is read from the Airflow metadata DB:
   span = max(end_date) - min(start_date) and sum of durations over the ``dbt.*`` tasks.
   ``airflow dags test`` runs the tasks one after the other in one process; the run also
   re-ingests its own day (reported separately, not part of the dbt time).

The dbt project is copied once at the start (the working tree, so all scales and both
ways of running build the same project) and parsed in each scale's folder, so a concurrent
edit of ``dbt_project/`` and its ``target/`` do not affect a run. Each step runs in its own
child process; "peak RSS" is the largest resident set of that step's process tree.

The machine is noisy: compare ratios measured in one run, not absolute figures across runs.
"""

from __future__ import annotations

import argparse
import os
import pickle
import platform
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "include"))

from siyu import contract as C  # noqa: E402
from siyu import pipeline  # noqa: E402
from siyu.config import Settings  # noqa: E402
from siyu.generate import generate  # noqa: E402

BIN = Path(sys.executable).parent
DAG_ID = "siyu_daily"
TIMEZONE = "Asia/Shanghai"
PROJECT_PARTS = ("dbt_project.yml", "profiles.yml", "packages.yml", "models", "macros", "seeds",
                 "tests", "analyses", "snapshots", "dbt_packages")


def log(msg: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {msg}", flush=True)


# --------------------------------------------------------------------------- measuring


def _peak_mb(ru: resource.struct_rusage) -> float:
    return ru.ru_maxrss / 1024  # Linux: kilobytes


def in_child(fn, *args):
    """Run ``fn(*args)`` in a forked child; return (result, seconds, peak RSS MB).

    The rusage of ``wait4`` covers the child and the descendants it waited for, so the peak
    includes the dbt subprocess of a build."""
    r, w = os.pipe()
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
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
    seconds = time.perf_counter() - t0
    if not data:
        raise RuntimeError(f"{fn.__name__} child died (status {status})")
    ok, result = pickle.loads(data)
    if not ok:
        raise RuntimeError(f"{fn.__name__} failed: {result}")
    return result, seconds, _peak_mb(ru)


def run_cmd(cmd: list[str], env: dict, logfile: Path, cwd: Path | None = None):
    """Run a command with output to ``logfile``; return (seconds, peak RSS MB)."""
    t0 = time.perf_counter()
    with logfile.open("w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
        _, status, ru = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = "\n".join(logfile.read_text(errors="replace").splitlines()[-40:])
        raise RuntimeError(f"{' '.join(cmd[:3])} failed (exit {proc.returncode}):\n{tail}")
    return seconds, _peak_mb(ru)


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


# --------------------------------------------------------------------------- steps


def step_generate(landing: Path, users: int, days: int, start: date, seed: int) -> dict:
    m = generate(landing, users=users, days=days, start=start, seed=seed)
    return {"as_of": m["as_of"], "rows": sum(m["rows_written"].values())}


def step_ingest(settings: Settings, source: str, as_of: date, only_as_of: bool) -> dict:
    dates = [as_of] if only_as_of else pipeline.dates_to_load(settings, source, as_of)
    s = pipeline.ingest(settings, source, dates)
    return {"rows": s["rows_loaded"] + s["rows_quarantined"], "partitions": len(dates)}


def step_reingest_day(settings: Settings, as_of: date) -> dict:
    rows = sum(step_ingest(settings, src, as_of, True)["rows"] for src in C.SOURCES)
    return {"rows": rows}


def step_build(settings: Settings, as_of: date) -> dict:
    pipeline.build(settings, as_of)
    return {}


def dbt_parse(project: Path, env: dict, logfile: Path) -> float:
    cmd = [str(BIN / "dbt"), "parse", "--profiles-dir", ".", "--quiet"]
    seconds, _ = run_cmd(cmd, env, logfile, cwd=project)
    if not (project / "target" / "manifest.json").exists():
        raise RuntimeError("dbt parse wrote no manifest.json")
    return seconds


def snapshot_project(dest: Path) -> Path:
    src = REPO / "dbt_project"
    dest.mkdir(parents=True)
    for part in PROJECT_PARTS:
        p = src / part
        if p.is_dir():
            shutil.copytree(p, dest / part)
        elif p.exists():
            shutil.copy2(p, dest / part)
    return dest


def airflow_env(home: Path, settings: Settings) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SIYU_"))}
    env.update(settings.env())
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": settings.timezone,
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "NO_COLOR": "1",
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
    })
    return env


def _ts(value) -> datetime:
    t = datetime.fromisoformat(str(value))
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def task_times(home: Path) -> dict:
    """Task instances of the (only) siyu_daily run in the metadata DB of ``home``."""
    con = sqlite3.connect(home / "airflow.db")
    try:
        rows = con.execute(
            "SELECT task_id, state, start_date, end_date, duration FROM task_instance "
            "WHERE dag_id = ?", [DAG_ID]).fetchall()
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

    return {
        "dbt": group(lambda t: t.startswith("dbt.")),
        "ingest": group(lambda t: t.startswith("ingest_")),
        "all": group(lambda t: True),
        "not_success": sorted(f"{r[0]}={r[1]}" for r in rows if r[1] != "success"),
        "tasks": len(rows),
    }


def cosmos_run(home: Path, settings: Settings, as_of: date, logfile: Path) -> dict:
    env = airflow_env(home, settings)
    seconds, peak = run_cmd([str(BIN / "airflow"), "dags", "test", DAG_ID, as_of.isoformat()],
                            env, logfile)
    t = task_times(home)
    if t["not_success"]:
        raise RuntimeError(f"dags test: tasks not successful: {', '.join(t['not_success'])} "
                           f"(log {logfile})")
    return {**t, "wall_s": seconds, "peak_mb": peak}


# --------------------------------------------------------------------------- one scale


def bench(users: int, args, project_src: Path, workdir: Path) -> dict:
    res: dict = {"users": users, "days": args.days, "steps": {}}
    steps = res["steps"]
    logs = workdir / "bench-logs"
    logs.mkdir(parents=True)
    project = workdir / "dbt_project"
    shutil.copytree(project_src, project)
    settings = Settings.from_env(
        landing_root=workdir / "landing", warehouse=workdir / "wh" / "siyu.duckdb",
        log_dir=workdir / "logs", dbt_project_dir=project, timezone=TIMEZONE,
    )
    res["dbt_parse_s"] = dbt_parse(project, pipeline.dbt_env(settings), logs / "dbt-parse.log")

    log(f"{users:,} users: generate")
    g, s, p = in_child(step_generate, settings.landing_root, users, args.days,
                       date.fromisoformat(args.start), args.seed)
    as_of = date.fromisoformat(g["as_of"])
    res["as_of"] = g["as_of"]
    res["rows"] = g["rows"]
    res["landing_mb"] = du(settings.landing_root) / 1e6
    steps["generate"] = {"s": s, "rows": g["rows"], "peak_mb": p}

    for source in C.SOURCES:
        log(f"{users:,} users: ingest {source}")
        r, s, p = in_child(step_ingest, settings, source, as_of, False)
        steps[f"ingest {source}"] = {"s": s, "rows": r["rows"], "peak_mb": p,
                                     "note": f"{r['partitions']} partitions"}
    ing = [steps[f"ingest {src}"] for src in C.SOURCES]
    steps["ingest (3 sources)"] = {"s": sum(x["s"] for x in ing),
                                   "rows": sum(x["rows"] for x in ing),
                                   "peak_mb": max(x["peak_mb"] for x in ing)}
    res["raw_mb"] = du(settings.raw_dir) / 1e6

    log(f"{users:,} users: plain dbt build (full)")
    _, s, p = in_child(step_build, settings, as_of)
    steps["plain dbt build, full"] = {"s": s, "peak_mb": p}
    res["warehouse_mb"] = settings.warehouse.stat().st_size / 1e6

    log(f"{users:,} users: re-ingest {as_of}, plain dbt build (incremental)")
    r, s, p = in_child(step_reingest_day, settings, as_of)
    steps["re-ingest as-of day"] = {"s": s, "rows": r["rows"], "peak_mb": p}
    _, s, p = in_child(step_build, settings, as_of)
    steps["plain dbt build, incremental"] = {"s": s, "peak_mb": p}

    if not args.skip_cosmos:
        home = workdir / "airflow_home"
        home.mkdir()
        log(f"{users:,} users: airflow db migrate")
        res["airflow_migrate_s"], _ = run_cmd([str(BIN / "airflow"), "db", "migrate"],
                                              airflow_env(home, settings), logs / "migrate.log")
        home_full = workdir / "airflow_home_full"
        home_full.mkdir()
        shutil.copy2(home / "airflow.db", home_full / "airflow.db")

        log(f"{users:,} users: cosmos (airflow dags test) on the built warehouse: incremental")
        res["cosmos_incremental"] = cosmos_run(home, settings, as_of, logs / "dags-test-incr.log")
        log(f"{users:,} users: cosmos on an empty warehouse: full")
        for f in settings.warehouse.parent.glob(settings.warehouse.name + "*"):
            f.unlink()
        res["cosmos_full"] = cosmos_run(home_full, settings, as_of, logs / "dags-test-full.log")
    return res


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


def scale_table(r: dict) -> list[str]:
    lines = [
        f"### {r['users']:,} users x {r['days']} days (as of {r['as_of']})",
        "",
        f"Landing {r['landing_mb']:,.0f} MB, raw {r['raw_mb']:,.0f} MB, "
        f"warehouse {r['warehouse_mb']:,.0f} MB (after the full build).",
        "",
        "| step | seconds | rows | rows/s | peak RSS MB | notes |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, st in r["steps"].items():
        rows = st.get("rows")
        n, rate = (f"{rows:,}", f"{rows / st['s']:,.0f}") if rows else ("", "")
        lines.append(f"| {name} | {fmt_s(st['s'])} | {n} | {rate} | {st['peak_mb']:,.0f} "
                     f"| {st.get('note', '')} |")
    for key, label in (("cosmos_incremental", "incremental"), ("cosmos_full", "full")):
        c = r.get(key)
        if not c:
            continue
        d, i = c["dbt"], c["ingest"]
        lines.append(
            f"| cosmos dbt, {label}: span of the dbt tasks | {fmt_s(d['span_s'])} | | | "
            f"| {d['n']} dbt tasks, sum of their durations {fmt_s(d['sum_s'])} s |")
        lines.append(
            f"| cosmos {label}: whole `airflow dags test` | {fmt_s(c['wall_s'])} | | "
            f"| {c['peak_mb']:,.0f} | {c['tasks']} tasks; ingest tasks span "
            f"{fmt_s(i['span_s'])} s |")
    return lines


def ratios(r: dict) -> list[str]:
    st = r["steps"]
    full, incr = st["plain dbt build, full"]["s"], st["plain dbt build, incremental"]["s"]
    out = [f"- {r['users']:,} users: plain incremental build / plain full = "
           f"{incr / full:.2f}."]
    ci, cf = r.get("cosmos_incremental"), r.get("cosmos_full")
    if ci:
        out.append(
            f"  Cosmos incremental dbt span / plain incremental = "
            f"**{ci['dbt']['span_s'] / incr:.1f}x** ({fmt_s(ci['dbt']['span_s'])} s vs "
            f"{fmt_s(incr)} s); cosmos incremental span / plain full = "
            f"{ci['dbt']['span_s'] / full:.1f}x; "
            f"{(ci['dbt']['span_s'] - incr) / ci['dbt']['n']:.1f} s more per dbt task.")
    if cf:
        out.append(
            f"  Cosmos full dbt span / plain full = **{cf['dbt']['span_s'] / full:.1f}x** "
            f"({fmt_s(cf['dbt']['span_s'])} s vs {fmt_s(full)} s), "
            f"{(cf['dbt']['span_s'] - full) / cf['dbt']['n']:.1f} s more per dbt task; the sum "
            f"of task durations is {cf['dbt']['sum_s'] / cf['dbt']['span_s']:.2f} of the span "
            f"(the rest is scheduling between tasks).")
    return out


def report(results: list[dict], started: datetime, load: tuple, snapshot: str,
           done: bool = True) -> list[str]:
    cmd = ".venv/bin/python benchmarks/bench.py " + " ".join(sys.argv[1:])
    minutes = (datetime.now(timezone.utc) - started).total_seconds() / 60
    lines = [
        f"## Run of {started:%Y-%m-%d %H:%M} UTC",
        "",
        f"Command: `{cmd.strip()}`  ",
        f"Machine: {machine()}; load average at start {load[0]:.2f} / {load[1]:.2f} / "
        f"{load[2]:.2f} (shared, noisy)  ",
        f"Code: {snapshot}  ",
        f"Wall time of the whole run: {minutes:.0f} min"
        + ("" if done else " so far (run incomplete: later scales missing)"),
        "",
    ]
    for r in results:
        lines += scale_table(r) + [""]
    lines += ["### Summary", "",
              "| users | rows | generate s | ingest s | rows/s ingest | plain full s "
              "| plain incr s | cosmos incr span s | cosmos full span s |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        st = r["steps"]
        ing = st["ingest (3 sources)"]
        ci, cf = r.get("cosmos_incremental"), r.get("cosmos_full")
        lines.append(
            f"| {r['users']:,} | {r['rows']:,} | {fmt_s(st['generate']['s'])} "
            f"| {fmt_s(ing['s'])} | {ing['rows'] / ing['s']:,.0f} "
            f"| {fmt_s(st['plain dbt build, full']['s'])} "
            f"| {fmt_s(st['plain dbt build, incremental']['s'])} "
            f"| {fmt_s(ci['dbt']['span_s']) if ci else 'skipped'} "
            f"| {fmt_s(cf['dbt']['span_s']) if cf else 'skipped'} |")
    lines += ["", "Ratios (same run):", ""]
    for r in results:
        lines += ratios(r)
    if len(results) >= 2:
        a, b = results[0], results[-1]
        sa, sb = a["steps"], b["steps"]
        k = b["rows"] / a["rows"]

        def x(name: str) -> str:
            return f"{sb[name]['s'] / sa[name]['s']:.1f}x"

        lines.append(
            f"- Scaling {a['users']:,} -> {b['users']:,} users ({k:.1f}x rows): generate "
            f"{x('generate')}, ingest {x('ingest (3 sources)')}, plain full build "
            f"{x('plain dbt build, full')}, plain incremental build "
            f"{x('plain dbt build, incremental')}.")
    return lines + [""]


HEADER = """# Benchmarks

Produced by `benchmarks/bench.py` (see its docstring for what each step measures). Each run
section is written by one invocation; compare ratios inside a run, since the machine is
shared and noisy. "span" of the cosmos dbt tasks = last end - first start of the `dbt.*`
task instances of the `airflow dags test siyu_daily` run (read from the Airflow metadata DB);
`airflow dags test` runs tasks one at a time, and the run also re-ingests its own day
(reported separately).
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--users", type=int, action="append", help="repeatable (default 10k, 100k)")
    ap.add_argument("--days", type=int, default=180)
    ap.add_argument("--start", default="2025-01-01")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--skip-cosmos", action="store_true", help="plain dbt only (no Airflow)")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results.md")
    ap.add_argument("--append", action="store_true", help="add a run section to --out")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folders")
    ap.add_argument("--tmp", type=Path, default=None, help="parent of the temporary folders")
    args = ap.parse_args()
    scales = args.users or [10_000, 100_000]
    started = datetime.now(timezone.utc)
    load = os.getloadavg()

    head = git("rev-parse", "--short", "HEAD")
    dirty = git("status", "--porcelain", "--", "dbt_project", "include", "dags").splitlines()
    snapshot = (f"commit {head}" + (f" + {len(dirty)} uncommitted file(s) in dbt_project/, "
                                    "include/, dags/ (working tree)" if dirty else ""))
    base = Path(tempfile.mkdtemp(prefix="siyu-bench-", dir=args.tmp))
    project_src = snapshot_project(base / "dbt_project")
    log(f"dbt project snapshot ({snapshot}) in {project_src}")
    prefix = (args.out.read_text().rstrip("\n") + "\n\n" if args.append and args.out.exists()
              else HEADER + "\n")
    results = []
    try:
        for users in scales:
            workdir = base / f"u{users}"
            r = bench(users, args, project_src, workdir)
            results.append(r)
            st = r["steps"]
            log(f"{users:,} users: generate {st['generate']['s']:.1f}s, ingest "
                f"{st['ingest (3 sources)']['s']:.1f}s, plain full "
                f"{st['plain dbt build, full']['s']:.1f}s, plain incremental "
                f"{st['plain dbt build, incremental']['s']:.1f}s"
                + (f", cosmos incr span {r['cosmos_incremental']['dbt']['span_s']:.1f}s, "
                   f"cosmos full span {r['cosmos_full']['dbt']['span_s']:.1f}s"
                   if "cosmos_full" in r else ""))
            if not args.keep:
                shutil.rmtree(workdir, ignore_errors=True)
            # written after every scale, so a later failure keeps the figures measured so far
            section = report(results, started, load, snapshot, done=len(results) == len(scales))
            args.out.write_text(prefix + "\n".join(section).rstrip("\n") + "\n")
            log(f"wrote {args.out}")
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
