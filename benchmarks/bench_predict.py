"""Time the predictive KPIs' step of the build (docs/kpi-book.md#predictive-kpis) at scale.

    .venv/bin/python benchmarks/bench_predict.py --landing /work/bench/landing100k \\
        --work /tmp/bench-predict-100k [--append]

1. a full ``siyu run --as-of <the landing's as_of>`` on an empty warehouse in ``--work`` (ingest,
   dbt build with the predictive models and their tests, audit, publish); skipped when
   ``--work`` already holds a published warehouse (``--reuse``);
2. the prediction step alone, three times, on that warehouse: ``dbt run --select
   path:models/marts/predict`` (the two SQL aggregations and the
   two dbt Python models: evaluation of the four models, then scoring), each a subprocess;
   wall seconds, the peak RSS of the dbt process (``ru_maxrss`` of ``os.wait4``, MB = 10^6
   bytes; dbt's own ~300 MB included) and each model's seconds from dbt's run_results.json;
3. ``siyu.predict`` alone in a child process on the same tables: wall and CPU seconds of the
   imports, the read, the evaluation and the scoring, and its peak RSS (CPU seconds are the
   figure to compare on a busy machine).

The landing zone is only read. Results: a markdown section printed, and appended to
benchmarks/results.md with ``--append``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MODELS = "path:models/marts/predict"


def _run(cmd: list[str], env: dict, log: Path) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak RSS MB) of a subprocess; raises on failure."""
    t0 = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{log.read_text()[-4000:]}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024 / 1e6


def _python_only(warehouse: str, as_of: str) -> None:
    """Child mode: siyu.predict alone on the warehouse's fct_user_purchase_days and fct_buyer_features tables (what the two
    dbt Python models compute), timed per step in wall and CPU seconds; prints JSON."""
    from datetime import date

    import duckdb

    t = {}
    clock = (time.perf_counter(), time.process_time())

    def lap(name):
        nonlocal clock
        now = (time.perf_counter(), time.process_time())
        t[name] = (round(now[0] - clock[0], 2), round(now[1] - clock[1], 2))
        clock = now

    from siyu import predict  # noqa: F401
    import sklearn.ensemble  # noqa: F401
    lap("import")
    con = duckdb.connect(warehouse, read_only=True)
    days = con.sql("SELECT * FROM marts.fct_user_purchase_days").df()
    buyers = con.sql("SELECT * FROM marts.fct_buyer_features").df()
    con.close()
    lap("read")
    ev = predict.evaluate(days, buyers, date.fromisoformat(as_of))
    lap("evaluate")
    predict.score(days, buyers, date.fromisoformat(as_of), predict.choose(ev))
    lap("score")
    import resource

    t["rows"] = [len(days), len(buyers)]
    t["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6)
    print(json.dumps(t))


def main() -> int:
    if sys.argv[1:2] == ["--python-only"]:
        _python_only(sys.argv[2], sys.argv[3])
        return 0
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--landing", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--reuse", action="store_true", help="keep a warehouse already in --work")
    ap.add_argument("--append", action="store_true", help="append to benchmarks/results.md")
    args = ap.parse_args()
    manifest = json.loads((args.landing / "_manifest.json").read_text())
    as_of = manifest["as_of"]
    users = manifest["args"]["users"]
    work = args.work.resolve()
    warehouse = work / "wh" / "siyu.duckdb"
    work.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIYU_", "AIRFLOW"))}
    env.update(SIYU_WAREHOUSE=str(warehouse), SIYU_RAW_DIR=str(work / "wh" / "siyu_raw"),
               SIYU_LOG_DIR=str(work / "logs"), DBT_TARGET_PATH=str(work / "target"),
               DBT_SEND_ANONYMOUS_USAGE_STATS="False")
    lines = [f"## Predictive KPIs: {users:,} users (as of {as_of}), "
             f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC", "",
             f"`{' '.join(sys.argv)}`; load average before: "
             f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
             f"DuckDB memory limit {env.get('SIYU_DUCKDB_MEMORY_LIMIT', '8GB')}, "
             f"threads {env.get('SIYU_DUCKDB_THREADS', '4')}.", ""]
    if not (args.reuse and warehouse.exists()):
        s, _cpu, rss = _run([str(BIN / "siyu"), "run", "--landing", str(args.landing),
                             "--warehouse", str(warehouse), "--as-of", as_of], env,
                            work / "full-run.log")
        lines.append(f"Full `siyu run --as-of {as_of}` on an empty warehouse (with the "
                     f"predictive models): {s:.1f} s, peak RSS {rss:,.0f} MB.")
        lines.append("")
    lines += ["| run | `dbt run` of the 4 predictive models: wall (s) | CPU (s) | peak RSS (MB) | "
              "fct_user_purchase_days (s) | fct_buyer_features (s) | "
              "pred_model_evaluation (s) | pred_customer_90d (s) |",
              "|---|---|---|---|---|---|---|---|"]
    dbt = [str(BIN / "dbt"), "run", "--profiles-dir", str(REPO / "dbt_project"),
           "--project-dir", str(REPO / "dbt_project"),
           "--select", *MODELS.split(), "--vars", f"{{as_of: {as_of}}}",
           "--log-path", str(work / "logs" / "dbt")]
    for i in range(args.repeat):
        s, cpu, rss = _run(dbt, env, work / f"dbt-{i}.log")
        results = json.loads((work / "target" / "run_results.json").read_text())["results"]
        t = {r["unique_id"].rsplit(".", 1)[-1]: r["execution_time"] for r in results}
        lines.append(f"| {i + 1} | {s:.1f} | {cpu:.1f} | {rss:,.0f} | "
                     f"{t.get('fct_user_purchase_days', 0):.1f} | "
                     f"{t.get('fct_buyer_features', 0):.1f} | {t.get('pred_model_evaluation', 0):.1f} | "
                     f"{t.get('pred_customer_90d', 0):.1f} |")
    proc = subprocess.run([sys.executable, __file__, "--python-only", str(warehouse), as_of],
                          env=env, capture_output=True, text=True, check=True)
    py = json.loads(proc.stdout.strip().splitlines()[-1])
    lines += ["", f"`siyu.predict` alone on the same tables ({py['rows'][0]:,} buyer-days, "
              f"{py['rows'][1]:,} buyers; wall / CPU seconds): import {py['import'][0]} / "
              f"{py['import'][1]}, read {py['read'][0]} / {py['read'][1]}, evaluate the four "
              f"models {py['evaluate'][0]} / {py['evaluate'][1]}, score {py['score'][0]} / "
              f"{py['score'][1]}; peak RSS {py['peak_rss_mb']:,} MB."]
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    buyers = con.execute("SELECT count(*) FROM marts.pred_customer_90d").fetchone()[0]
    chosen = con.execute("SELECT any_value(model_version) FROM marts.pred_customer_90d").fetchone()[0]
    ev = con.execute("""SELECT model, metric, round(value, 3), round(baseline_value, 3), users
        FROM marts.pred_model_evaluation WHERE segment = 'all' ORDER BY model, metric""").fetchall()
    con.close()
    lines += ["", f"{buyers:,} buyers scored by `{chosen}`. Held-out evaluation (all buyers):", "",
              "| model | metric | value | naive baseline | buyers |", "|---|---|---|---|---|"]
    lines += [f"| {m} | {k} | {v} | {b} | {u:,} |" for m, k, v, b, u in ev]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.append:
        with open(REPO / "benchmarks" / "results.md", "a") as f:
            f.write("\n" + text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
