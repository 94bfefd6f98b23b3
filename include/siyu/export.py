"""Export a schema of the published warehouse as Parquet files (``siyu export``).

One file per table or view, written by DuckDB itself (``COPY (SELECT ...) TO ... (FORMAT
parquet)``): no rows pass through Python, so an export of millions of rows costs what DuckDB's
writer costs. The default schema is ``bi``, the masked views BI tools read: an export is an
extract that leaves the warehouse, so it gets the same personal-data treatment as BI (no clear
names, phones or e-mails; see the README "Personal data").

The warehouse is opened read-only, so an export can run while the pipeline builds the next
version (the pipeline replaces the published file atomically; the export keeps reading the
build it opened). A small manifest (``_manifest.json``) lists every file with its rows, the
build (``ops.build_info``) and the schema, so a consumer can check it got a complete export.
Files are written under a temporary name and renamed when complete.

``--target spark`` (``export_spark_parquet``) exports the published Spark warehouse the same
way: Spark writes each relation as Parquet part files (``dbt run-operation spark_export``:
``INSERT OVERWRITE DIRECTORY ... USING parquet``), and DuckDB merges each relation's parts
into ``<table>.parquet`` with the same ``COPY``, so the files, names and manifest are those of
the DuckDB export (timestamps stay timestamps, decimals decimals; the manifest's ``build`` is
the published Spark build, ``published.json``).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from . import db

DEFAULT_SCHEMA = "bi"
MANIFEST = "_manifest.json"


@dataclass
class ExportedTable:
    schema: str
    table: str
    file: str  # relative to the output directory
    rows: int
    seconds: float


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def relations(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    """Tables and views of ``schema`` in the warehouse's own catalog, by name."""
    rows = con.sql(
        "SELECT table_name FROM information_schema.tables "
        f"WHERE table_catalog = current_database() AND table_schema = {_sql_string(schema)} "
        "ORDER BY table_name"
    ).fetchall()
    return [r[0] for r in rows]


def _build_info(con: duckdb.DuckDBPyConnection) -> dict | None:
    exists = con.sql(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'ops' AND table_name = 'build_info'"
    ).fetchall()[0][0]
    if not exists:
        return None
    row = con.sql(
        "SELECT build_id, as_of, published_at FROM ops.build_info "
        "ORDER BY published_at DESC NULLS LAST, built_at DESC LIMIT 1"
    ).fetchall()
    if not row:
        return None
    build_id, as_of, published_at = row[0]
    return {"build_id": build_id, "as_of": str(as_of) if as_of else None,
            "published_at": published_at.isoformat() if published_at else None}


def _write_manifest(out_dir: Path, warehouse: str, schema: str, build: dict | None,
                    started: float, done: list[ExportedTable], say) -> None:
    manifest = {
        "warehouse": warehouse,
        "schema": schema,
        "format": "parquet",
        "exported_at": datetime.now(timezone.utc).isoformat(),
        "build": build,
        "seconds": round(time.monotonic() - started, 3),
        "tables": [asdict(t) for t in done],
    }
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
                                    encoding="utf-8")
    say(f"{len(done)} file(s), {sum(t.rows for t in done):,} rows; manifest {out_dir / MANIFEST}")


def export_parquet(
    warehouse: Path,
    out_dir: Path,
    schema: str = DEFAULT_SCHEMA,
    tables: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[ExportedTable]:
    """Write every table/view of ``schema`` (or only ``tables``) to ``out_dir/<table>.parquet``.

    Returns one ``ExportedTable`` per file and writes ``out_dir/_manifest.json``. ``progress``
    gets one line per table: name, rows, seconds (counts only, never row contents).
    """
    warehouse = Path(warehouse)
    if not warehouse.exists():
        raise FileNotFoundError(f"no warehouse at {warehouse}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    say = progress or (lambda _msg: None)
    con = db.connect(warehouse, read_only=True)
    try:
        available = relations(con, schema)
        if not available:
            raise ValueError(f"schema {schema!r} has no tables or views in {warehouse}")
        wanted = tables or available
        unknown = sorted(set(wanted) - set(available))
        if unknown:
            raise ValueError(f"not in schema {schema!r}: {', '.join(unknown)}")
        build = _build_info(con)
        done: list[ExportedTable] = []
        started = time.monotonic()
        for table in wanted:
            t0 = time.monotonic()
            final = out_dir / f"{table}.parquet"
            partial = out_dir / f".{table}.parquet.partial"
            partial.unlink(missing_ok=True)
            relation = f"{_quote(schema)}.{_quote(table)}"
            con.execute(
                f"COPY (SELECT * FROM {relation}) TO {_sql_string(str(partial))} "
                "(FORMAT parquet, COMPRESSION zstd)"
            )
            # the row count from the file just written (its footer), not a second query
            rows = con.sql(
                f"SELECT count(*) FROM read_parquet({_sql_string(str(partial))})"
            ).fetchall()[0][0]
            os.replace(partial, final)
            item = ExportedTable(schema, table, final.name, int(rows),
                                 round(time.monotonic() - t0, 3))
            done.append(item)
            say(f"{schema}.{table}: {item.rows:,} rows in {item.seconds:.2f} s -> {final}")
    finally:
        con.close()
    _write_manifest(out_dir, str(warehouse.resolve()), schema, build, started, done, say)
    return done


def export_spark_parquet(
    settings,
    out_dir: Path,
    schema: str = DEFAULT_SCHEMA,
    tables: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[ExportedTable]:
    """``export_parquet`` of the published Spark warehouse (``siyu.targets.spark``): Spark
    writes every relation of ``schema`` (or only ``tables``) as Parquet parts into a scratch
    folder inside ``out_dir``, DuckDB turns each into ``out_dir/<table>.parquet``."""
    import shutil

    from .targets import spark

    say = progress or (lambda _msg: None)
    build = spark.read_published(settings)
    if build is None:
        raise FileNotFoundError(f"no published Spark build in {spark.warehouse_dir(settings)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    scratch = out_dir / f".spark-export-{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    started = time.monotonic()
    try:
        args = {"schema": schema, "folder": str(scratch.resolve())}
        if tables:
            args["tables"] = list(tables)
        spark.run_operation(settings, "spark_export", args)
        names = sorted(p.name for p in scratch.iterdir() if p.is_dir()) if scratch.exists() else []
        if not names:
            raise ValueError(f"schema {schema!r} has no tables or views in the Spark warehouse")
        con = duckdb.connect()
        done: list[ExportedTable] = []
        try:
            con.execute("SET TimeZone = 'UTC'")
            for table in tables or names:
                t0 = time.monotonic()
                final = out_dir / f"{table}.parquet"
                partial = out_dir / f".{table}.parquet.partial"
                parts = _sql_string(str(scratch / table / "*.parquet"))
                con.execute(f"COPY (SELECT * FROM read_parquet({parts})) TO "
                            f"{_sql_string(str(partial))} (FORMAT parquet, COMPRESSION zstd)")
                rows = con.sql(
                    f"SELECT count(*) FROM read_parquet({_sql_string(str(partial))})"
                ).fetchall()[0][0]
                os.replace(partial, final)
                item = ExportedTable(schema, table, final.name, int(rows),
                                     round(time.monotonic() - t0, 3))
                done.append(item)
                say(f"{schema}.{table}: {item.rows:,} rows in {item.seconds:.2f} s -> {final}")
        finally:
            con.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    _write_manifest(out_dir, str(spark.warehouse_dir(settings).resolve()), schema,
                    {k: build.get(k) for k in ("build_id", "as_of", "published_at")},
                    started, done, say)
    return done
