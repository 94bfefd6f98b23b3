"""Write-audit-publish: the published warehouse changes only by an atomic swap after the audit.

The dbt build is replaced by a tiny stand-in that writes into the file it is given, so these
tests exercise the publish logic itself in a second; the end-to-end tests run it with dbt.
"""

from __future__ import annotations

import hashlib
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest
from siyu import pipeline
from siyu import publish as wap
from siyu.config import Settings

AS_OF = date(2025, 6, 28)


def _settings(tmp_path: Path) -> Settings:
    (tmp_path / "landing").mkdir(exist_ok=True)
    return Settings.from_env(landing_root=tmp_path / "landing",
                             warehouse=tmp_path / "wh" / "siyu.duckdb", log_dir=tmp_path / "logs")


def _fake_build(rows: int):
    """Stands in for `dbt build`: (re)creates marts.t with `rows` rows in the target file."""

    def build(settings: Settings, as_of, select=None, progress=None, full_refresh=False):
        con = duckdb.connect(str(settings.warehouse))
        con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        con.execute(f"CREATE OR REPLACE TABLE marts.t AS SELECT range AS i FROM range({rows})")
        con.close()

    return build


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rows(path: Path) -> int:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM marts.t").fetchone()[0]
    finally:
        con.close()


@pytest.fixture
def no_quality(monkeypatch):
    monkeypatch.setattr(pipeline, "audit", lambda *a, **k: {"checks": "none (test)"})


def test_publish_builds_in_a_working_copy_and_swaps_it_in(tmp_path, monkeypatch, no_quality):
    s = _settings(tmp_path)
    monkeypatch.setattr(pipeline, "build", _fake_build(3))
    first = pipeline.build_and_publish(s, AS_OF)
    assert _rows(s.warehouse) == 3
    assert wap.published_build(s)["build_id"] == first["build_id"]
    assert wap.working_path(s) != s.warehouse
    assert wap.working_path(s).name == "siyu.building.duckdb"
    assert wap.working_path(s, "siyu-run-1/x").name == "siyu.building-siyu-run-1_x.duckdb"
    assert sorted(p.name for p in s.warehouse.parent.iterdir()) == ["siyu.duckdb", "siyu.lock"]

    # the next build starts from the published one and replaces it
    monkeypatch.setattr(pipeline, "build", _fake_build(5))
    second = pipeline.build_and_publish(s, AS_OF)
    assert _rows(s.warehouse) == 5
    build = wap.published_build(s)
    assert build["build_id"] == second["build_id"] != first["build_id"]
    assert build["as_of"] == AS_OF
    con = duckdb.connect(str(s.warehouse), read_only=True)
    published_builds = con.execute("SELECT count(*) FROM ops.build_info").fetchone()[0]
    con.close()
    assert published_builds == 2  # the history of published builds travels with the file


def test_a_failed_audit_leaves_the_published_warehouse_byte_for_byte(tmp_path, monkeypatch,
                                                                      no_quality):
    s = _settings(tmp_path)
    monkeypatch.setattr(pipeline, "build", _fake_build(3))
    good = pipeline.build_and_publish(s, AS_OF)
    before = _sha(s.warehouse)

    def failing_audit(*_args, **_kwargs):
        raise pipeline.PipelineError("quality gate failed: expect_column_values_to_not_be_null "
                                     "on marts.fct_orders.user_id: 1 unexpected")

    monkeypatch.setattr(pipeline, "audit", failing_audit)
    monkeypatch.setattr(pipeline, "build", _fake_build(7))
    with pytest.raises(pipeline.PipelineError, match="fct_orders.user_id"):
        pipeline.build_and_publish(s, AS_OF)
    assert _sha(s.warehouse) == before
    assert wap.published_build(s)["build_id"] == good["build_id"]
    assert _rows(wap.failed_path(s)) == 7  # the failed build stays for debugging
    assert not list(s.warehouse.parent.glob("*.building*"))


def test_a_reader_holding_the_published_file_neither_blocks_nor_sees_a_half_build(
        tmp_path, monkeypatch, no_quality):
    s = _settings(tmp_path)
    monkeypatch.setattr(pipeline, "build", _fake_build(3))
    pipeline.build_and_publish(s, AS_OF)
    reader = duckdb.connect(str(s.warehouse), read_only=True)  # a BI tool, left open
    try:
        assert reader.execute("SELECT count(*) FROM marts.t").fetchone()[0] == 3
        monkeypatch.setattr(pipeline, "build", _fake_build(9))
        pipeline.build_and_publish(s, AS_OF)  # does not wait for the reader
        # the open reader keeps its consistent (old) build ...
        assert reader.execute("SELECT count(*) FROM marts.t").fetchone()[0] == 3
    finally:
        reader.close()
    # ... and the next reader gets the new one
    assert _rows(s.warehouse) == 9


def test_first_build_without_a_published_warehouse_starts_empty(tmp_path):
    s = _settings(tmp_path)
    working = wap.working_path(s)
    working.parent.mkdir(parents=True)
    working.write_bytes(b"stale failed build")
    assert wap.prepare_working_copy(s) == working
    assert not working.exists()  # dbt creates it; nothing stale is carried over
    assert wap.published_build(s) is None


@pytest.fixture(scope="module")
def built(published_landing) -> tuple[Path, date]:
    """(root, as_of): ``root/landing`` and ``root/wh`` are a landing zone and the good warehouse
    `siyu run` published from it (the session's, shared: copy ``root/wh`` before writing)."""
    landing, manifest, warehouse = published_landing
    assert landing.parent == warehouse.parent.parent
    return landing.parent, date.fromisoformat(manifest["as_of"])


def test_a_critical_expectation_failure_blocks_publishing_and_says_why(tmp_path, monkeypatch,
                                                                       built):
    """The real quality gate on a build whose as-of raw batch breaks a critical expectation
    (an order without its key; the marts' rules are dbt tests, which stop the build itself):
    the run fails with the expectation, table and observed value, and the published
    warehouse stays byte-for-byte the previous good build."""
    root, as_of = built
    wh = tmp_path / "wh"
    shutil.copytree(root / "wh", wh)
    s = Settings.from_env(landing_root=root / "landing", warehouse=wh / "siyu.duckdb",
                          raw_dir=wh / "siyu_raw", log_dir=tmp_path / "logs")
    before, good = _sha(s.warehouse), wap.published_build(s)["build_id"]

    def broken_build(settings, as_of, select=None, progress=None, full_refresh=False):
        con = duckdb.connect(str(settings.raw_db("shop")))  # the copy's raw file
        con.execute("UPDATE orders SET order_id = NULL WHERE rowid = "
                    "(SELECT min(rowid) FROM orders WHERE _dt = ?)", [as_of])
        con.close()

    monkeypatch.setattr(pipeline, "build", broken_build)
    with pytest.raises(pipeline.PipelineError) as failed:
        pipeline.build_and_publish(s, as_of)
    message = str(failed.value)
    assert "published warehouse is unchanged" in message
    assert "shop.orders" in message and "order_id" in message
    assert _sha(s.warehouse) == before
    assert wap.published_build(s)["build_id"] == good
    # the failed audit is recorded in the working file for whoever debugs it
    con = duckdb.connect(str(wap.failed_path(s)), read_only=True)
    failed_rows = con.execute("SELECT count(*) FROM ops.dq_results WHERE NOT success "
                              "AND severity = 'critical'").fetchone()[0]
    con.close()
    assert failed_rows >= 1


def test_the_published_build_carries_its_audit(built):
    root, as_of = built
    s = Settings.from_env(landing_root=root / "landing", warehouse=root / "wh" / "siyu.duckdb")
    con = duckdb.connect(str(s.warehouse), read_only=True)
    try:
        results = con.execute("SELECT count(*), count(*) FILTER (WHERE NOT success AND "
                              "severity = 'critical') FROM ops.dq_results").fetchone()
        builds = con.execute("SELECT count(*) FROM ops.build_info").fetchone()[0]
    finally:
        con.close()
    assert results[0] > 100 and results[1] == 0
    assert builds == 1 and wap.published_build(s)["as_of"] == as_of
    assert (pipeline.data_docs_dir(s) / "index.html").exists()
