"""The Spark target next to DuckDB at one scale, on this machine (docs/spark.md, sizing).

Generates a landing zone (or reuses one), runs `siyu run` on DuckDB (timed as a whole), then
the Spark target's four steps on that run's raw files (each timed: load raw, build, audit,
publish) with dbt-spark `method: session`, master local[2], and `siyu export --target spark
--schema marts` (timed). Prints a Markdown section for benchmarks/results.md and writes the
numbers as JSON beside the work folder.

    .venv/bin/python benchmarks/spark_bench.py --users 10000 --days 180 --work /tmp/spark-bench

``--compare`` then checks the exported marts against DuckDB's, value by value.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=10000)
    ap.add_argument("--days", type=int, default=180)
    ap.add_argument("--start", default="2024-12-31")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--landing", type=Path, help="reuse this landing zone")
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--skip-audit", action="store_true", help="leave out the dbt tests on Spark")
    ap.add_argument("--compare", action="store_true",
                    help="compare every exported Spark mart with DuckDB's, value by value (floats "
                         "to 1e-9 relative: tests/test_spark.py's check, at this scale)")
    args = ap.parse_args()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    times: dict[str, float] = {}
    load = os.getloadavg()

    landing = args.landing or work / "landing"
    if not (landing / "_manifest.json").exists():
        t0 = time.perf_counter()
        subprocess.run([BIN / "siyu", "generate", "--out", landing, "--users", str(args.users),
                        "--days", str(args.days), "--start", args.start, "--seed",
                        str(args.seed)], check=True, capture_output=True)
        times["generate"] = time.perf_counter() - t0
        print(f"== generate: {times['generate']:.1f}s", flush=True)
    as_of = json.loads((landing / "_manifest.json").read_text())["as_of"]

    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SIYU_SPARK_", "SIYU_RAW_DIR", "SIYU_DBT_TARGET"))}
    env.update(SIYU_LANDING_ROOT=str(landing), SIYU_WAREHOUSE=str(work / "duck" / "siyu.duckdb"),
               SIYU_LOG_DIR=str(work / "duck-logs"), DBT_TARGET_PATH=str(work / "duck-dbt"))
    t0 = time.perf_counter()
    subprocess.run([BIN / "siyu", "run", "--as-of", as_of], env=env, check=True,
                   capture_output=True)
    times["duckdb: siyu run (ingest + build + audit + publish)"] = time.perf_counter() - t0
    print(f"== duckdb siyu run: {time.perf_counter() - t0:.1f}s", flush=True)

    os.environ.update(SIYU_LOG_DIR=str(work / "spark-logs"),
                      DBT_TARGET_PATH=str(work / "spark-dbt"))
    for name in ("SIYU_SPARK_WAREHOUSE_DIR", "SIYU_SPARK_RAW_DIR", "SIYU_DBT_TARGET"):
        os.environ.pop(name, None)
    sys.path.insert(0, str(REPO / "include"))
    from siyu import targets
    from siyu.config import Settings
    from siyu.export import export_spark_parquet

    settings = Settings.from_env(landing_root=landing, warehouse=work / "spark" / "siyu.duckdb",
                                 raw_dir=work / "duck" / "siyu_raw")
    target = targets.open_target("spark", settings, "siyu-run-bench-1", print)
    day = date.fromisoformat(as_of)
    steps = [("load raw", target.load_raw), ("build", lambda: target.build(day))]
    if not args.skip_audit:
        steps.append(("audit (dbt tests + quality gate)", lambda: target.audit(day)))
    steps.append(("publish", lambda: target.publish(day)))
    steps.append(("export marts", lambda: export_spark_parquet(settings, work / "export",
                                                                "marts")))
    for name, call in steps:
        t0 = time.perf_counter()
        call()
        times[f"spark: {name}"] = time.perf_counter() - t0
        print(f"== {name}: {times[f'spark: {name}']:.1f}s", flush=True)

    raw_rows = sum(t["rows"] for t in target.raw_tables or [])
    result = {"users": args.users, "days": args.days, "as_of": as_of, "raw_rows": raw_rows,
              "load_average_at_start": load, "seconds": times}
    (work / "spark_bench.json").write_text(json.dumps(result, indent=2))
    spark_total = sum(v for k, v in times.items() if k.startswith("spark:")
                      and "export" not in k)
    print(f"\n### Spark target at {args.users // 1000}k users (local[2])\n")
    print(f"{args.users:,} users x {args.days} days (as of {as_of}), {raw_rows:,} raw rows; "
          f"load average at start {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}.\n")
    print("| step | seconds |\n|---|---:|")
    for name, secs in times.items():
        print(f"| {name} | {secs:.1f} |")
    print(f"| spark: load raw + build + audit + publish | {spark_total:.1f} |")
    if args.compare:
        return compare(work / "duck" / "siyu.duckdb", work / "export")
    return 0


def compare(duck_warehouse: Path, export: Path) -> int:
    """Print how many mart values of the Spark export differ from the DuckDB warehouse (the
    comparison of tests/test_spark.py) and the first differences; 1 when any differ."""
    sys.path.insert(0, str(REPO))
    from tests.test_postgres import _differences, _duckdb_marts
    from tests.test_spark import _exported_marts

    names = [t["table"] for t in json.loads((export / "_manifest.json").read_text())["tables"]]
    duck = _duckdb_marts(duck_warehouse)
    problems = _differences(duck, _exported_marts(export, names))
    rows = sum(len(rows) for _, rows in duck.values())
    print(f"\nSame marts: {len(names)} exported tables against DuckDB's {len(duck)} "
          f"({rows:,} rows): {len(problems)} difference(s)")
    for line in problems[:20]:
        print(f"  {line}")
    return 1 if problems or sorted(names) != sorted(duck) else 0


if __name__ == "__main__":
    sys.exit(main())
