"""The Spark target: the same dbt project built by dbt-spark on Apache Spark.

``siyu run --target spark`` (or ``SIYU_DBT_TARGET=spark``) ingests as always (the per-source
raw DuckDB files, with quarantine and lineage), then

1. ``load_raw``: DuckDB writes every raw table as Parquet (``COPY ... (FORMAT parquet)``: no
   row passes through Python; the lineage columns ``_file``, ``_line``, ``_dt``, ``_load_id``
   are columns of the raw tables, so they travel with the rows) into a folder of its own for
   this run under SIYU_SPARK_RAW_DIR, and ``dbt run-operation spark_register_raw``
   (re)points the tables of the Spark databases ``raw_crm``, ``raw_shop``,
   ``raw_community`` at those folders. The folders of earlier runs are deleted afterwards.
2. ``build``: ``dbt build --target spark`` of the models and seeds (no tests: they are the
   audit) into databases of this build only, ``<schema>__b<build key>`` (``staging__b...``,
   ``marts__b...``; ``SIYU_SCHEMA_SUFFIX``, macros/generate_schema_name.sql). Every build
   starts from empty databases, so the incremental models are built in full on Spark (the
   cost of one full build, measured in benchmarks/results.md).
3. ``audit``: ``dbt test`` (the data tests, as in the DuckDB build; unit tests run in
   ``make test`` on DuckDB) on those databases; a failing error-severity test stops the run.
   The Great Expectations gates read DuckDB files and do not run on this target.
4. ``publish``: ``dbt run-operation spark_publish`` points the published databases
   (``staging``, ``intermediate``, ``marts``, ``audit``, ``config``, ``bi``) at the build:
   every published name is a view ``<schema>.<table>`` over ``<schema>__b<key>.<table>``,
   replaced with ``CREATE OR REPLACE VIEW`` (one metastore update per view), then views the
   build no longer has are dropped and the databases of builds before the previous one are
   dropped. What a reader sees: a query that names a table reads either the old build or the
   new one, never a half-written table (the build's tables are complete before the first view
   moves); during the swap (one metastore update per view, one after the other: the whole
   publish step of ~150 views took 25 s on the test sample, JVM start included), a query that joins several
   published tables may read one from the old build and one from the new one. Readers that
   need one build for a whole session read ``<spark dir>/published.json`` (or
   ``siyu export``'s manifest) and query the build's own databases, which stay until the
   publish after next. A failed build leaves the published views as they were and the build's
   databases for debugging (dropped by a later publish).

Locally and in the tests Spark runs inside the dbt process (dbt-spark ``method: session``,
master ``local[2]``), with its table catalog in an embedded Derby metastore and its tables in
SIYU_SPARK_WAREHOUSE_DIR; on a cluster the same profile runs on YARN / Kubernetes / a
standalone master, or a ``thrift`` output points at a Spark Thrift server (docs/spark.md).
Only one process at a time can open the embedded metastore: ``siyu`` itself never starts
Spark, every Spark statement goes through a dbt command.

| variable | meaning | default |
|---|---|---|
| SIYU_SPARK_MASTER | Spark master of dbt's session: `local[2]`, `yarn`, `spark://host:7077`, `k8s://...` | `local[2]` |
| SIYU_SPARK_DRIVER_MEMORY | memory of the Spark driver (the whole local Spark) | `2g` |
| SIYU_SPARK_SHUFFLE_PARTITIONS | `spark.sql.shuffle.partitions` (about 2-3 per core of the cluster) | `4` |
| SIYU_SPARK_DRIVER_JAVA_OPTIONS | extra JVM options of the Spark driver, e.g. `-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:ReservedCodeCacheSize=240m` for short local runs on small data (less JIT and GC CPU; the tests use it) | empty |
| SIYU_SPARK_WAREHOUSE_DIR | Spark's warehouse folder (its tables, and the local Derby metastore) | `<warehouse dir>/spark` |
| SIYU_SPARK_RAW_DIR | where the raw layer's Parquet files go (a path the cluster reads) | `<spark warehouse dir>/raw` |
| SIYU_SPARK_HOST | host of a Spark Thrift server (profile outputs that use one; unused by `method: session`) | `localhost` |
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from datetime import date, datetime, timezone
from pathlib import Path

from .. import contract as C
from .. import db, pii, pipeline
from .. import publish as wap
from ..config import Settings
from . import WarehouseTarget

#: the databases dbt builds (dbt_project.yml); each published as views over the build's own
PUBLISHED_SCHEMAS = ("staging", "intermediate", "marts", "audit", "config", "bi")
RAW_SCHEMAS = tuple(f"raw_{s}" for s in C.SOURCES)
PUBLISHED_FILE = "published.json"
_BUILD_SUFFIX = re.compile(r"^__b[0-9a-z]+$")


def warehouse_dir(settings: Settings) -> Path:
    """Spark's warehouse folder: SIYU_SPARK_WAREHOUSE_DIR, else ``spark/`` beside the DuckDB
    warehouse file."""
    configured = os.environ.get("SIYU_SPARK_WAREHOUSE_DIR")
    return Path(configured) if configured else settings.warehouse.parent / "spark"


def raw_dir(settings: Settings) -> Path:
    configured = os.environ.get("SIYU_SPARK_RAW_DIR")
    return Path(configured) if configured else warehouse_dir(settings) / "raw"


def dbt_env(settings: Settings) -> dict[str, str]:
    """Environment of dbt's Spark commands (profiles.yml output ``spark``). The PII salt goes
    to the profile (a Spark session setting that the SQL reads, macros/pii.sql), never into
    the compiled SQL."""
    spark_dir = warehouse_dir(settings)
    spark_dir.mkdir(parents=True, exist_ok=True)
    return {"SIYU_DBT_TARGET": "spark", "SIYU_SPARK_WAREHOUSE_DIR": str(spark_dir.resolve()),
            "SIYU_PII_SALT": pii.salt()}


def run_operation(settings: Settings, macro: str, args: dict,
                  progress=None, extra_env: dict[str, str] | None = None) -> None:
    """``dbt run-operation <macro> --args <json>`` on the Spark target."""
    pipeline.dbt(settings, ["run-operation", macro, "--args", json.dumps(args)],
                 progress=progress, extra_env={**dbt_env(settings), **(extra_env or {})})


def export_raw_parquet(settings: Settings, folder: Path) -> list[dict]:
    """Every table of every raw DuckDB file as ``folder/<source>/<table>/part-0.parquet``.
    Returns one ``{"schema", "table", "location", "rows"}`` per table."""
    tables: list[dict] = []
    for source in C.SOURCES:
        con = db.connect(settings.raw_db(source), read_only=True)
        try:
            con.execute("SET TimeZone = 'UTC'")
            names = [r[0] for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
                "AND table_type = 'BASE TABLE' ORDER BY 1").fetchall()]
            for table in names:
                location = folder / source / table
                location.mkdir(parents=True, exist_ok=True)
                file = location / "part-0.parquet"
                con.execute(f'COPY main."{table}" TO \'{file}\' (FORMAT parquet)')
                rows = con.execute(f"SELECT count(*) FROM read_parquet('{file}')").fetchone()[0]
                tables.append({"schema": f"raw_{source}", "table": table,
                               "location": str(location.resolve()), "rows": int(rows)})
        finally:
            con.close()
    return tables


def build_suffix(build_id: str) -> str:
    """The suffix of a build's databases: ``__b`` and the first 12 characters of its id."""
    suffix = "__b" + re.sub(r"[^0-9a-z]", "", build_id.lower())[:12]
    assert _BUILD_SUFFIX.match(suffix), suffix
    return suffix


def read_published(settings: Settings) -> dict | None:
    """The build the published views point at (``published.json``), or None."""
    path = warehouse_dir(settings) / PUBLISHED_FILE
    return json.loads(path.read_text()) if path.exists() else None


class SparkTarget(WarehouseTarget):
    name = "spark"
    carried = ("build_id", "suffix", "raw_tables")

    build_id: str | None = None
    suffix: str | None = None
    raw_tables: list[dict] | None = None

    def load_raw(self) -> dict:
        pipeline.ensure_raw(self.settings)
        t0 = time.perf_counter()
        root = raw_dir(self.settings)
        folder = root / (wap.run_key(self.run_id) or "run")
        if folder.exists():
            shutil.rmtree(folder)
        self.raw_tables = export_raw_parquet(self.settings, folder)
        rows = sum(t["rows"] for t in self.raw_tables)
        self.say(f"raw layer to Parquet: {len(self.raw_tables)} tables, {rows:,} rows in "
                 f"{time.perf_counter() - t0:.1f}s under {folder}")
        self.say(f"  $ dbt run-operation spark_register_raw ({len(self.raw_tables)} tables)")
        run_operation(self.settings, "spark_register_raw",
                      {"tables": [{k: t[k] for k in ("schema", "table", "location")}
                                  for t in self.raw_tables]})
        for old in root.iterdir():  # earlier runs' raw files: no table points at them now
            if old.is_dir() and old != folder:
                shutil.rmtree(old, ignore_errors=True)
        return {"raw_rows": rows, "raw_tables": len(self.raw_tables)}

    def _dbt(self, args: list[str], as_of: date | None) -> None:
        pipeline.dbt(self.settings, args, as_of=as_of, progress=self.progress,
                     extra_env={**dbt_env(self.settings), "SIYU_SCHEMA_SUFFIX": self.suffix})

    def build(self, as_of: date | None, select: str | None = None,
              full_refresh: bool = False) -> None:
        self.build_id = wap.new_build_id()
        self.suffix = build_suffix(self.build_id)
        self.say(f"dbt build --target spark into databases <schema>{self.suffix}")
        self.raw_validation = pipeline.start_raw_validation(self.settings, as_of, self.run_id)
        args = ["build", *pipeline.PRODUCTION_BUILD_FLAGS, "test"]
        if select:
            args += ["--select", select]
        if full_refresh:  # every build is a full one here (new databases); kept for reruns
            args.append("--full-refresh")
        self._dbt(args, as_of)

    def audit(self, as_of: date | None) -> dict:
        # the build left the data tests out (one JVM each: they run here, once); then the
        # quality gate on the raw batches, the Great Expectations suites of every target
        self.say("audit: dbt test --target spark")
        self._dbt(["test", *pipeline.PRODUCTION_BUILD_FLAGS], as_of)
        return {"dbt_tests": "passed",
                **pipeline.audit_raw(self.settings, as_of, self.run_id, self.progress,
                                     build_id=self.build_id, raw=self.raw_validation)}

    def publish(self, as_of: date | None) -> dict:
        previous = read_published(self.settings)
        keep = [self.suffix] + ([previous["suffix"]] if previous else [])
        self.say(f"  $ dbt run-operation spark_publish (views over <schema>{self.suffix})")
        run_operation(self.settings, "spark_publish",
                      {"suffix": self.suffix, "schemas": list(PUBLISHED_SCHEMAS), "keep": keep})
        record = {"build_id": self.build_id, "suffix": self.suffix,
                  "as_of": as_of.isoformat() if as_of else None, "run_id": self.run_id,
                  "published_at": datetime.now(timezone.utc).isoformat(),
                  "schemas": {s: s + self.suffix for s in PUBLISHED_SCHEMAS}}
        path = warehouse_dir(self.settings) / PUBLISHED_FILE
        partial = path.with_suffix(".json.partial")
        partial.write_text(json.dumps(record, indent=2) + "\n")
        os.replace(partial, path)
        self.say(f"  published build {self.build_id[:12]} on spark "
                 f"(views over <schema>{self.suffix}) in {warehouse_dir(self.settings)}")
        return {"target": "spark", "build_id": self.build_id, "suffix": self.suffix,
                "raw_rows": sum(t["rows"] for t in self.raw_tables or [])}

    def discard(self, error: BaseException) -> None:
        if self.suffix:
            self.say(f"  the failed build is kept for debugging in databases "
                     f"<schema>{self.suffix} (dropped by a later publish)")

    def summary(self) -> dict:
        return {"spark_warehouse": str(warehouse_dir(self.settings))}


TARGET = SparkTarget
