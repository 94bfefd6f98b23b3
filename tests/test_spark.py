"""The Spark target: the shared sample landing built with `siyu run` on DuckDB and with the
Spark target (dbt-spark, `method: session`, local[2]) gives the same published marts, read
back through `siyu export --target spark` (Parquet files, one per table, and the manifest).

Lean by design (the whole `make test` has a time budget): one DuckDB run, then the Spark
target's own steps on that run's raw files — load the raw layer, build, publish — without the
audit step, whose ~600 dbt data tests already run on the DuckDB build; the comparison of every
mart is the check. Every Spark statement runs in a dbt process (the embedded Derby metastore
takes one process at a time), none in the test's own process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest
from siyu import targets
from siyu.config import Settings
from siyu.export import export_spark_parquet
from siyu.targets import spark

from .test_postgres import _differences, _duckdb_marts, _table

BIN = Path(sys.executable).parent
TIMINGS: dict[str, float] = {}


def _env(tmp: Path, landing: Path) -> dict:
    env = dict(os.environ)
    for name in ("SIYU_RAW_DIR", "SIYU_DBT_TARGET", "SIYU_SPARK_WAREHOUSE_DIR",
                 "SIYU_SPARK_RAW_DIR"):
        env.pop(name, None)
    env.update(SIYU_LANDING_ROOT=str(landing), SIYU_WAREHOUSE=str(tmp / "wh" / "siyu.duckdb"),
               SIYU_LOG_DIR=str(tmp / "logs"), SIYU_TIMEZONE="Asia/Shanghai",
               DBT_TARGET_PATH=str(tmp / "dbt_target"))
    return env


@pytest.fixture(scope="module")
def built(tmp_path_factory, sample_landing):
    """(DuckDB warehouse file, Spark export folder, Spark settings) of one as-of day."""
    tmp = tmp_path_factory.mktemp("spark")
    as_of = json.loads((sample_landing.parent / "landing.manifest.json").read_text())["as_of"]
    env = _env(tmp / "duck", sample_landing)
    t0 = time.perf_counter()
    proc = subprocess.run([BIN / "siyu", "run", "--as-of", as_of], env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    TIMINGS["duckdb siyu run"] = time.perf_counter() - t0

    duck_wh = tmp / "duck" / "wh" / "siyu.duckdb"
    mp = pytest.MonkeyPatch()
    mp.setenv("SIYU_LOG_DIR", str(tmp / "spark-logs"))
    mp.setenv("DBT_TARGET_PATH", str(tmp / "spark-dbt-target"))
    mp.delenv("SIYU_SPARK_WAREHOUSE_DIR", raising=False)
    mp.delenv("SIYU_SPARK_RAW_DIR", raising=False)
    # short JVMs on small data: the C1 compiler only and the serial collector cut the Spark
    # steps' CPU by about a quarter (measured: 249 s -> 178 s of Java CPU for this module),
    # which the parallel `make test` workers share
    # ReservedCodeCacheSize: C1 alone gets a 48 MB code cache by default (240 MB with both
    # compilers), and Spark's generated code filled it in one fresh-clone run ("Out of space
    # in CodeCache for adapters", a fatal JVM error in dim_dates)
    mp.setenv("SIYU_SPARK_DRIVER_JAVA_OPTIONS",
              "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:ReservedCodeCacheSize=240m")
    try:
        # the Spark warehouse beside its own (unused) DuckDB path, on the DuckDB run's raw files
        settings = Settings.from_env(landing_root=sample_landing,
                                     warehouse=tmp / "spark" / "siyu.duckdb",
                                     raw_dir=duck_wh.parent / "siyu_raw")
        target = targets.open_target("spark", settings, "siyu-run-test-spark-1")
        for step, call in (("load raw", target.load_raw),
                           ("build", lambda: target.build(date.fromisoformat(as_of))),
                           ("publish", lambda: target.publish(date.fromisoformat(as_of)))):
            t0 = time.perf_counter()
            call()
            TIMINGS[f"spark {step}"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        out = tmp / "export"
        export_spark_parquet(settings, out, schema="marts")
        TIMINGS["spark export"] = time.perf_counter() - t0
    finally:
        mp.undo()
    yield duck_wh, out, settings, as_of
    print("\nSpark test timings: " + ", ".join(f"{k} {v:.0f}s" for k, v in TIMINGS.items()))


def _exported_marts(folder: Path, names: list[str]) -> dict:
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        out = {}
        for name in names:
            cur = con.execute(f"SELECT * FROM read_parquet('{folder / (name + '.parquet')}')")
            out[name] = _table([d[0] for d in cur.description], cur.fetchall())
        return out
    finally:
        con.close()


def test_spark_marts_equal_duckdb_marts(built):
    duck_wh, out, _settings, _as_of = built
    manifest = json.loads((out / "_manifest.json").read_text())
    names = [t["table"] for t in manifest["tables"]]
    duck = _duckdb_marts(duck_wh)
    assert len(duck) >= 20 and sum(len(rows) for _, rows in duck.values()) > 1000
    assert sorted(names) == sorted(duck)
    problems = _differences(duck, _exported_marts(out, names))
    assert not problems, "\n".join(problems[:30])


def test_spark_export_is_the_duckdb_export_format(built):
    """Same files and manifest as `siyu export` of the DuckDB file; timestamps stay
    timestamps, money stays decimal."""
    duck_wh, out, settings, as_of = built
    manifest = json.loads((out / "_manifest.json").read_text())
    assert manifest["schema"] == "marts" and manifest["format"] == "parquet"
    assert manifest["build"]["as_of"] == as_of
    assert manifest["build"]["build_id"] == spark.read_published(settings)["build_id"]
    files = sorted(p.name for p in out.iterdir())
    assert files == sorted(["_manifest.json"] + [t["file"] for t in manifest["tables"]])
    con = duckdb.connect()
    try:
        for table in manifest["tables"]:
            path = out / table["file"]
            assert con.execute(f"SELECT count(*) FROM '{path}'").fetchone()[0] == table["rows"]
        types = dict(con.execute(
            f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "
            f"'{out / 'fct_orders.parquet'}')").fetchall())
        duck = duckdb.connect(str(duck_wh), read_only=True)
        duck_types = dict(duck.execute("SELECT column_name, data_type FROM "
                                       "information_schema.columns WHERE table_schema = 'marts' "
                                       "AND table_name = 'fct_orders'").fetchall())
        duck.close()
    finally:
        con.close()
    assert types.keys() == duck_types.keys()
    for column, duck_type in duck_types.items():
        if duck_type.startswith(("TIMESTAMP", "DATE", "DECIMAL")):
            assert types[column].split("(")[0] == duck_type.split("(")[0], column


def test_publish_points_the_published_views_at_the_build(built):
    _duck_wh, _out, settings, _as_of = built
    published = spark.read_published(settings)
    assert published["suffix"] == spark.build_suffix(published["build_id"])
    assert published["schemas"]["marts"] == "marts" + published["suffix"]
    # the build's tables live in its own databases' folders; nothing in `marts` itself
    folder = spark.warehouse_dir(settings)
    assert (folder / f"marts{published['suffix']}.db" / "fct_orders").is_dir()
    assert not (folder / "marts.db" / "fct_orders").exists()
