"""The outside sample landing zone loads with exactly its manifest's bad rows quarantined."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from siyu import contract as C
from siyu import loader

from .conftest import SAMPLE_MANIFEST


def physical_data_rows(landing: Path, entity: C.Entity) -> int:
    """Count data lines on disk independently of the loader (CSV header excluded)."""
    n = 0
    for f in (landing / entity.source / entity.name).glob("dt=*/*"):
        data = gzip.decompress(f.read_bytes()) if f.suffix == ".gz" else f.read_bytes()
        lines = [ln for ln in data.decode("utf-8").split("\n") if ln.strip()]
        n += max(len(lines) - 1, 0) if entity.fmt == "csv" else len(lines)
    return n


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, sample_landing):
    raw = tmp_path_factory.mktemp("sample") / "raw"
    for source in C.SOURCES:
        loader.ingest_source_days(
            source, loader.landed_dates(sample_landing, source), sample_landing,
            raw / f"{source}.duckdb",
        )
    return raw


def test_quarantine_matches_manifest_exactly(loaded):
    manifest = json.loads(SAMPLE_MANIFEST.read_text())
    expected = Counter()
    for key, n in manifest["bad_rows_injected"].items():
        expected[key.split(":")[0]] += n
    got = Counter()
    for source in C.SOURCES:
        con = duckdb.connect(str(loaded / f"{source}.duckdb"), read_only=True)
        for entity, n in con.execute(
            "SELECT entity, count(*) FROM quarantine GROUP BY entity"
        ).fetchall():
            got[f"{source}/{entity}"] = n
        con.close()
    assert got == expected


@pytest.mark.parametrize("entity", C.ENTITIES, ids=lambda e: e.path)
def test_every_other_row_is_in_raw(loaded, sample_landing, entity):
    con = duckdb.connect(str(loaded / f"{entity.source}.duckdb"), read_only=True)
    raw_rows = con.execute(f'SELECT count(*) FROM "{entity.table}"').fetchone()[0]
    rejected = con.execute(
        "SELECT count(*) FROM quarantine WHERE entity = ?", [entity.name]
    ).fetchone()[0]
    con.close()
    assert raw_rows + rejected == physical_data_rows(sample_landing, entity)
    assert raw_rows > 0


def test_bad_rows_are_the_injected_kinds(loaded):
    con = duckdb.connect(str(loaded / "community.duckdb"), read_only=True)
    reasons = dict(
        con.execute("SELECT entity || ':' || _line, reason FROM quarantine").fetchall()
    )
    con.close()
    assert any("missing required field push_id" in r for r in reasons.values())
    assert any("unparsable epoch-ms time in msgtime" in r for r in reasons.values())


def test_added_json_keys_are_recorded(loaded):
    con = duckdb.connect(str(loaded / "community.duckdb"), read_only=True)
    drift = con.execute(
        "SELECT column_name FROM schema_drift WHERE entity = 'messages' GROUP BY 1"
    ).fetchall()
    kept = con.execute(
        "SELECT count(*) FROM messages WHERE _extra->>'action' IS NOT NULL"
    ).fetchone()[0]
    con.close()
    assert drift == [("action",)]
    assert kept > 0
