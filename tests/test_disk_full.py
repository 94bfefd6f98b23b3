"""A full disk: the real error is reported (not a failed ROLLBACK), the free space is checked
before the warehouse is copied, and no working copy is left behind."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections import namedtuple
from datetime import date

import duckdb
import pytest
from siyu import db, pipeline
from siyu import publish as wap
from siyu.config import Settings

MB = 2**20
Usage = namedtuple("Usage", "total used free")
FILL = ("INSERT INTO t SELECT md5(range::VARCHAR) || md5((range + 1)::VARCHAR) "
        "FROM range(200000)")


@pytest.fixture
def tiny_disk(tmp_path):
    """A 3 MB tmpfs (we run as root in CI and on developer machines)."""
    mount = tmp_path / "tiny_disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_free_space_is_checked_before_the_copy_with_the_numbers(tmp_path, monkeypatch):
    s = Settings.from_env(warehouse=tmp_path / "siyu.duckdb", landing_root=tmp_path)
    with open(s.warehouse, "wb") as fh:
        fh.truncate(10 * MB)
    monkeypatch.setenv("SIYU_MIN_FREE_MB", "1")
    monkeypatch.setattr(wap.shutil, "disk_usage", lambda _p: Usage(100 * MB, 85 * MB, 15 * MB))
    with pytest.raises(wap.DiskSpaceError) as full:
        wap.prepare_working_copy(s, "run-1")
    assert str(full.value) == (
        f"[Errno 28] not enough free space for the working copy of siyu.duckdb in {tmp_path}: "
        "needs 21.0 MB (20.0 MB + reserve 1.0 MB SIYU_MIN_FREE_MB), 15.0 MB free")
    assert not wap.working_path(s, "run-1").exists()  # failed before copying anything
    monkeypatch.setattr(wap.shutil, "disk_usage", lambda _p: Usage(100 * MB, 79 * MB, 21 * MB))
    assert wap.prepare_working_copy(s, "run-1").stat().st_size == 10 * MB


def test_the_naive_rollback_masks_the_full_disk_and_the_helper_does_not(tiny_disk):
    con = duckdb.connect(str(tiny_disk / "naive.duckdb"))
    con.execute("CREATE TABLE t (s VARCHAR)")
    con.execute("BEGIN TRANSACTION")
    with pytest.raises(duckdb.Error, match="cannot rollback - no transaction is active"):
        try:
            con.execute(FILL)
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")  # the pattern of the old loader
            raise
    con.close()
    for p in tiny_disk.iterdir():
        p.unlink()

    con = db.connect(tiny_disk / "helper.duckdb")
    con.execute("CREATE TABLE t (s VARCHAR)")
    with pytest.raises(duckdb.Error, match="No space left on device") as full:
        with db.transaction(con):
            con.execute(FILL)
    assert "cannot rollback" not in str(full.value)
    assert wap.is_disk_full(full.value)
    con.close()


def test_a_build_that_fills_the_disk_leaves_no_working_copy_and_the_published_file(
        tiny_disk, monkeypatch):
    s = Settings.from_env(warehouse=tiny_disk / "siyu.duckdb", landing_root=tiny_disk,
                          log_dir=tiny_disk / "logs")
    con = duckdb.connect(str(s.warehouse))
    con.execute("CREATE SCHEMA marts")
    con.execute("CREATE TABLE marts.t AS SELECT 1 AS i")
    con.close()
    before = s.warehouse.read_bytes()

    def filling_build(settings, as_of, select=None, progress=None, full_refresh=False):
        c = duckdb.connect(str(settings.warehouse))
        try:
            c.execute("CREATE TABLE t (s VARCHAR)")
            c.execute(FILL)
        finally:
            c.close()

    monkeypatch.setattr(pipeline, "build", filling_build)
    monkeypatch.setenv("SIYU_MIN_FREE_MB", "0")
    with pytest.raises(duckdb.Error, match="No space left on device"):
        pipeline.build_and_publish(s, date(2025, 3, 10), run_id=f"run-{uuid.uuid4().hex[:6]}")
    assert s.warehouse.read_bytes() == before
    assert sorted(p.name for p in tiny_disk.iterdir()) == ["siyu.duckdb", "siyu.lock"]
    assert shutil.disk_usage(tiny_disk).free > 2 * MB  # the space is back
