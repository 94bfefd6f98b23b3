"""Time generate, ingest and the dbt build at several scales; write benchmarks/results.md.

    .venv/bin/python benchmarks/bench_ingest.py                 # 10k and 100k users, 180 days
    .venv/bin/python benchmarks/bench_ingest.py --users 10000   # one scale

Each scale runs in a fresh temporary folder. Compare ratios within one run: the machines
this runs on are noisy. The results file records the command, the machine and the figures.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
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


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def bench(users: int, days: int, start: date, seed: int, workdir: Path) -> dict:
    landing = workdir / "landing"
    t0 = time.perf_counter()
    manifest = generate(landing, users=users, days=days, start=start, seed=seed)
    t_gen = time.perf_counter() - t0
    rows = sum(manifest["rows_written"].values())
    as_of = date.fromisoformat(manifest["as_of"])
    settings = Settings.from_env(
        landing_root=landing, warehouse=workdir / "wh" / "siyu.duckdb", log_dir=workdir / "logs"
    )
    t_ing = {}
    loaded = 0
    for source in C.SOURCES:
        t0 = time.perf_counter()
        summary = pipeline.ingest(
            settings, source, pipeline.dates_to_load(settings, source, as_of)
        )
        t_ing[source] = time.perf_counter() - t0
        loaded += summary["rows_loaded"] + summary["rows_quarantined"]
    t0 = time.perf_counter()
    pipeline.build(settings, as_of)
    t_dbt = time.perf_counter() - t0
    return {
        "users": users,
        "days": days,
        "rows": rows,
        "landing_mb": du(landing) / 1e6,
        "generate_s": t_gen,
        "ingest_s": sum(t_ing.values()),
        "ingest_by_source": t_ing,
        "ingested_rows": loaded,
        "dbt_build_s": t_dbt,
        "raw_mb": du(settings.raw_dir) / 1e6,
        "warehouse_mb": settings.warehouse.stat().st_size / 1e6,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--users", type=int, action="append", help="repeatable (default 10k, 100k)")
    ap.add_argument("--days", type=int, default=180)
    ap.add_argument("--start", default="2025-01-01")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results.md")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folders")
    args = ap.parse_args()
    scales = args.users or [10_000, 100_000]
    results = []
    for users in scales:
        workdir = Path(tempfile.mkdtemp(prefix=f"siyu-bench-{users}-"))
        try:
            r = bench(users, args.days, date.fromisoformat(args.start), args.seed, workdir)
        finally:
            if not args.keep:
                shutil.rmtree(workdir, ignore_errors=True)
        results.append(r)
        print(
            f"{users:>9,} users x {args.days} days: {r['rows']:,} rows, "
            f"generate {r['generate_s']:.1f}s, ingest {r['ingest_s']:.1f}s, "
            f"dbt build {r['dbt_build_s']:.1f}s",
            flush=True,
        )
    cmd = "python benchmarks/bench_ingest.py " + " ".join(sys.argv[1:])
    lines = [
        "# Benchmarks",
        "",
        f"Command: `{cmd.strip()}`  ",
        f"Run: {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC} on {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}",
        "",
        "| users | days | rows written | landing MB | generate s | rows/s gen | ingest s "
        "| rows/s ingest | crm / shop / community s | raw MB | dbt build s | warehouse MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for r in results:
        by = " / ".join(f"{r['ingest_by_source'][s]:.1f}" for s in C.SOURCES)
        lines.append(
            f"| {r['users']:,} | {r['days']} | {r['rows']:,} | {r['landing_mb']:.0f} "
            f"| {r['generate_s']:.1f} | {r['rows'] / r['generate_s']:,.0f} "
            f"| {r['ingest_s']:.1f} | {r['ingested_rows'] / r['ingest_s']:,.0f} | {by} "
            f"| {r['raw_mb']:.0f} | {r['dbt_build_s']:.1f} | {r['warehouse_mb']:.0f} |"
        )
    if len(results) >= 2:
        a, b = results[0], results[-1]
        lines += [
            "",
            f"Scaling {a['users']:,} → {b['users']:,} users ({b['rows'] / a['rows']:.1f}x rows): "
            f"generate {b['generate_s'] / a['generate_s']:.1f}x, "
            f"ingest {b['ingest_s'] / a['ingest_s']:.1f}x, "
            f"dbt build {b['dbt_build_s'] / a['dbt_build_s']:.1f}x.",
        ]
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
