"""Write-audit-publish for the warehouse file.

BI tools read the *published* file (``Settings.warehouse``: the path ``siyu run --warehouse``
names). The pipeline never writes it in place:

1. ``prepare_working_copy`` copies the published file (the last good build, with the state of
   the incremental models and the identity history) to the *working* file
   ``<dir>/<stem>.building.duckdb``; dbt builds there, DuckDB's single writer.
2. The audit (dbt tests, Great Expectations) reads the working file.
3. ``publish`` stamps the build (``ops.build_info``), checkpoints the file and copies it next to
   the published one, then renames it over the published file in one atomic step
   (``os.replace``). A reader that has the old file open keeps reading the old build; a reader
   that opens the path afterwards sees the new build; nobody sees a half-built warehouse, and
   readers never block the pipeline (the published file is only ever replaced, never locked).

A failed audit leaves the published file as it was (the working file stays for debugging).
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import replace
from datetime import date, datetime, timezone
from pathlib import Path


from . import db
from .config import Settings

BUILD_INFO = "ops.build_info"


def working_path(settings: Settings) -> Path:
    """The file dbt builds and the audit reads, next to the published warehouse."""
    w = settings.warehouse
    return w.with_name(f"{w.stem}.building{w.suffix or '.duckdb'}")


def working_settings(settings: Settings) -> Settings:
    """``settings`` with the working file as the warehouse (raw files unchanged)."""
    return replace(settings, warehouse=working_path(settings))


def _remove(path: Path) -> None:
    for p in (path, path.with_name(path.name + ".wal")):
        p.unlink(missing_ok=True)


def prepare_working_copy(settings: Settings) -> Path:
    """Start the working file from the last published build (or empty when there is none)."""
    working = working_path(settings)
    working.parent.mkdir(parents=True, exist_ok=True)
    _remove(working)
    if settings.warehouse.exists():
        shutil.copyfile(settings.warehouse, working)
    return working


def stamp_build(working: Path, as_of: date | None, run_id: str | None = None) -> str:
    """Record the build in ``ops.build_info`` of the working file; returns the build id."""
    build_id = uuid.uuid4().hex
    con = db.connect(working)
    try:
        con.execute("CREATE SCHEMA IF NOT EXISTS ops")
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {BUILD_INFO} (build_id VARCHAR, as_of DATE, "
            "run_id VARCHAR, built_at TIMESTAMPTZ, published_at TIMESTAMPTZ)"
        )
        con.execute(
            f"INSERT INTO {BUILD_INFO} VALUES (?, ?, ?, ?, NULL)",
            [build_id, as_of, run_id, datetime.now(timezone.utc)],
        )
    finally:
        con.close()
    return build_id


def publish(settings: Settings, working: Path, build_id: str) -> Path:
    """Atomically replace the published warehouse with the audited working file."""
    con = db.connect(working)
    try:
        con.execute(
            f"UPDATE {BUILD_INFO} SET published_at = ? WHERE build_id = ?",
            [datetime.now(timezone.utc), build_id],
        )
        con.execute("CHECKPOINT")  # everything in the main file, no WAL left behind
    finally:
        con.close()
    target = settings.warehouse
    staging = target.with_name(f".{target.name}.publishing")
    shutil.copyfile(working, staging)
    with open(staging, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(staging, target)
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return target


def published_build(settings: Settings) -> dict | None:
    """The latest build recorded in the published warehouse (None before the first one)."""
    if not settings.warehouse.exists():
        return None
    con = db.connect(settings.warehouse, read_only=True)
    try:
        if not con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'ops' "
            "AND table_name = 'build_info'"
        ).fetchone()[0]:
            return None
        row = con.execute(
            f"SELECT build_id, as_of, run_id, built_at, published_at FROM {BUILD_INFO} "
            "WHERE published_at IS NOT NULL ORDER BY published_at DESC LIMIT 1"
        ).fetchone()
    finally:
        con.close()
    if row is None:
        return None
    keys = ("build_id", "as_of", "run_id", "built_at", "published_at")
    return dict(zip(keys, row, strict=True))
