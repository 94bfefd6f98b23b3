"""Write-audit-publish for the warehouse file, one run at a time.

BI tools read the *published* file (``Settings.warehouse``: the path ``siyu run --warehouse``
names). The pipeline never writes it in place:

1. ``prepare_working_copy`` checks the free space, then copies the published file (the last
   good build, with the state of the incremental models and the identity history) to the
   run's *working* file ``working_path(settings, run_key)``:
   ``<dir>/<stem>.building-<run key>.duckdb`` (``<stem>.building.duckdb`` without a run key);
   dbt builds there, DuckDB's single writer.
2. The audit (dbt tests, Great Expectations) reads the working file; its results carry the
   build id (``ops.dq_results.build_id``).
3. ``publish`` stamps the build (``ops.build_info``), checkpoints the file and renames it over
   the published file in one atomic step (``os.replace``; same folder, so no copy and no second
   copy's disk space). A reader that has the old file open keeps reading the old build; a
   reader that opens the path afterwards sees the new build; nobody sees a half-built
   warehouse, and readers never block the pipeline.

A failed run (``discard_working_copy``) leaves the published file as it was; its working file
is kept for debugging as ``<stem>.failed.duckdb`` (one at most: the next failure replaces it),
except after a full disk, when it is deleted to give the space back.

**One run at a time per warehouse.** ``<stem>.lock`` next to the warehouse is locked with
``fcntl.flock`` (released by the kernel when the holder dies, even by ``kill -9``) and records
its owner, pid, host and start time. ``warehouse_lock`` holds it for a block of code in one
process (``siyu run``); ``acquire_run_lease`` / ``release_run_lease`` hold it across the
processes of one Airflow DAG run: the flock only guards the file while a lease naming the run
is written into it; the lease is free again when released, when its ``expires_at`` has passed,
or when ``is_stale(owner)`` says its run is finished. A second run waits up to
``SIYU_LOCK_WAIT_SECONDS`` and then fails with ``WarehouseBusy`` naming the owner, pid, host and
start time.

| variable               | meaning                                                 | default  |
|------------------------|---------------------------------------------------------|----------|
| SIYU_LOCK_WAIT_SECONDS | how long a run waits for another run on the warehouse   | `1800`   |
| SIYU_MIN_FREE_MB       | free space left over after the working copy and publish | `64`     |
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import re
import shutil
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from . import db, pii
from .config import Settings

log = logging.getLogger(__name__)

BUILD_INFO = "ops.build_info"
DEFAULT_LOCK_WAIT_SECONDS = 1800.0
DEFAULT_MIN_FREE_MB = 64
_POLL_SECONDS = 0.5


class WarehouseBusy(RuntimeError):
    """Another run holds the warehouse; the message names it."""


class DiskSpaceError(OSError):
    """Not enough free space for the next step; the message gives needed and free bytes."""


# --------------------------------------------------------------------------- paths


def run_key(run_id: str | None) -> str | None:
    """A run id as a file-name part (letters, digits, ``_``, ``.``, ``-``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id).strip("._-") or None if run_id else None


def working_path(settings: Settings, run_id: str | None = None) -> Path:
    """The file dbt builds and the audit reads for the run ``run_id``, next to the published
    warehouse: ``<stem>.building-<run key>.duckdb`` (``<stem>.building.duckdb`` when None).
    A pure function of (settings, run id): every task of a run computes the same path."""
    w = settings.warehouse
    key = run_key(run_id)
    return w.with_name(f"{w.stem}.building{'-' + key if key else ''}{w.suffix or '.duckdb'}")


def failed_path(settings: Settings) -> Path:
    """Where the working file of the last failed run is kept for debugging."""
    w = settings.warehouse
    return w.with_name(f"{w.stem}.failed{w.suffix or '.duckdb'}")


def lock_path(settings: Settings) -> Path:
    w = settings.warehouse
    return w.with_name(f"{w.stem}.lock")


def working_settings(settings: Settings, run_id: str | None = None) -> Settings:
    """``settings`` with the run's working file as the warehouse (raw files unchanged)."""
    return replace(settings, warehouse=working_path(settings, run_id))


def _remove(path: Path) -> None:
    for p in (path, path.with_name(path.name + ".wal")):
        p.unlink(missing_ok=True)


# --------------------------------------------------------------------------- disk space


def min_free_bytes() -> int:
    return int(float(os.environ.get("SIYU_MIN_FREE_MB") or DEFAULT_MIN_FREE_MB) * 2**20)


def _mb(n: int) -> str:
    return f"{n / 2**20:,.1f} MB"


def check_free_space(folder: Path, needed: int, what: str) -> None:
    """Raise ``DiskSpaceError`` unless ``folder``'s file system has ``needed`` bytes free plus
    the reserve ``SIYU_MIN_FREE_MB``."""
    free = shutil.disk_usage(folder).free
    wanted = needed + min_free_bytes()
    if free < wanted:
        raise DiskSpaceError(
            errno.ENOSPC,
            f"not enough free space for {what} in {folder}: needs {_mb(wanted)} "
            f"({_mb(needed)} + reserve {_mb(min_free_bytes())} SIYU_MIN_FREE_MB), "
            f"{_mb(free)} free")


def is_disk_full(exc: BaseException) -> bool:
    """True when ``exc`` (or its cause) says the disk is full."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            return True
        if "no space left on device" in str(exc).lower():
            return True
        exc = exc.__cause__ or exc.__context__
    return False


# --------------------------------------------------------------------------- working copy


def _stale_working_files(settings: Settings) -> list[Path]:
    w = settings.warehouse
    return sorted(w.parent.glob(f"{w.stem}.building*{w.suffix or '.duckdb'}"))


def prepare_working_copy(settings: Settings, run_id: str | None = None) -> Path:
    """Start the run's working file from the last published build (or empty when there is
    none). Call it holding the warehouse lock: working files left by killed runs are deleted,
    and the free space is checked first (the copy, then the same size again for the build's
    growth; fails early with the numbers rather than half-way through a copy)."""
    working = working_path(settings, run_id)
    working.parent.mkdir(parents=True, exist_ok=True)
    for stale in {*_stale_working_files(settings), working}:
        _remove(stale)
    if settings.warehouse.exists():
        size = settings.warehouse.stat().st_size
        check_free_space(working.parent, 2 * size, f"the working copy of {settings.warehouse.name}")
        shutil.copyfile(settings.warehouse, working)
    return working


def discard_working_copy(settings: Settings, working: Path, error: BaseException | None = None
                         ) -> Path | None:
    """After a failed run: keep the working file as ``<stem>.failed.duckdb`` for debugging
    (replacing an older one), or delete it when the failure was a full disk. Returns where it
    was kept, or None."""
    if not working.exists():
        return None
    if error is not None and is_disk_full(error):
        _remove(working)
        return None
    kept = failed_path(settings)
    _remove(kept)
    os.replace(working, kept)
    wal = working.with_name(working.name + ".wal")
    if wal.exists():
        os.replace(wal, kept.with_name(kept.name + ".wal"))
    return kept


# --------------------------------------------------------------------------- lock


def lock_wait_seconds() -> float:
    value = os.environ.get("SIYU_LOCK_WAIT_SECONDS")
    return float(value) if value else DEFAULT_LOCK_WAIT_SECONDS


def _read_owner(fd: int) -> dict:
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 65536).decode("utf-8", "replace").strip()
    try:
        return json.loads(text) if text else {}
    except json.JSONDecodeError:
        return {}


def _write_owner(fd: int, owner: dict) -> None:
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, (json.dumps(owner) + "\n").encode())
    os.fsync(fd)


def _owner_record(owner: str, lease: bool, ttl: timedelta | None) -> dict:
    now = datetime.now(timezone.utc)
    return {"owner": owner, "pid": os.getpid(), "host": socket.gethostname(),
            "started_at": now.isoformat(timespec="seconds"), "lease": lease,
            "expires_at": (now + ttl).isoformat(timespec="seconds") if ttl else None}


def describe_owner(holder: dict) -> str:
    if not holder:
        return "another process (no owner recorded)"
    return (f"{holder.get('owner')} (pid {holder.get('pid')} on {holder.get('host')}, "
            f"started {holder.get('started_at')})")


def _lease_live(holder: dict, owner: str, is_stale: Callable[[dict], bool] | None) -> bool:
    """Does ``holder`` (read while holding the flock) still hold a lease against ``owner``?"""
    if not holder.get("lease") or holder.get("owner") == owner:
        return False
    expires = holder.get("expires_at")
    if expires and datetime.fromisoformat(expires) <= datetime.now(timezone.utc):
        return False
    return not (is_stale and is_stale(holder))


def _acquire(settings: Settings, owner: str, lease: bool, wait: float | None,
             is_stale: Callable[[dict], bool] | None, ttl: timedelta | None) -> int:
    """Take the lock file's flock and write ``owner`` into it; returns the open fd (flocked)."""
    path = lock_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + (lock_wait_seconds() if wait is None else wait)
    said = False
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_owner(fd)
            os.close(fd)
        else:
            holder = _read_owner(fd)
            if not _lease_live(holder, owner, is_stale):
                _write_owner(fd, _owner_record(owner, lease, ttl))
                return fd
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        if time.monotonic() >= deadline:
            raise WarehouseBusy(
                f"warehouse {settings.warehouse} is in use by {describe_owner(holder)}; "
                f"waited {lock_wait_seconds() if wait is None else wait:.0f}s "
                f"(SIYU_LOCK_WAIT_SECONDS). Lock file: {path}")
        if not said:
            log.warning("waiting for warehouse %s, in use by %s", settings.warehouse,
                        describe_owner(holder))
            said = True
        time.sleep(_POLL_SECONDS)


_held: dict[Path, list] = {}  # lock path -> [fd, depth]: warehouse_lock is re-entrant


@contextmanager
def warehouse_lock(settings: Settings, owner: str, wait: float | None = None) -> Iterator[None]:
    """Hold the warehouse for the block (one process: ``siyu run``). Waits up to ``wait``
    seconds (default SIYU_LOCK_WAIT_SECONDS) for another run, then raises ``WarehouseBusy``.
    Re-entrant in one process; released when the block ends or the process dies."""
    path = lock_path(settings)
    if path in _held:
        _held[path][1] += 1
        try:
            yield
        finally:
            _held[path][1] -= 1
        return
    fd = _acquire(settings, owner, lease=False, wait=wait, is_stale=None, ttl=None)
    _held[path] = [fd, 1]
    try:
        yield
    finally:
        del _held[path]
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def acquire_run_lease(settings: Settings, owner: str, wait: float | None = None,
                      is_stale: Callable[[dict], bool] | None = None,
                      ttl: timedelta | None = timedelta(hours=8)) -> dict:
    """Hold the warehouse for a run whose steps are separate processes (an Airflow DAG run,
    ``owner`` = its dag and run id) until ``release_run_lease`` or ``ttl``. Taking it again
    with the same owner (a retried task) succeeds. Returns the lease record."""
    fd = _acquire(settings, owner, lease=True, wait=wait, is_stale=is_stale, ttl=ttl)
    try:
        return _read_owner(fd)
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def release_run_lease(settings: Settings, owner: str) -> bool:
    """Release ``owner``'s lease (nothing when another owner holds it); True if released."""
    path = lock_path(settings)
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        holder = _read_owner(fd)
        if holder.get("lease") and holder.get("owner") == owner:
            os.ftruncate(fd, 0)
            return True
        return False
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def new_build_id() -> str:
    return uuid.uuid4().hex


# --------------------------------------------------------------------------- publish


def stamp_build(working: Path, as_of: date | None, run_id: str | None = None,
                build_id: str | None = None) -> str:
    """Record the build in ``ops.build_info`` of the working file (``demo_salt``: hashed with
    the public demo salt); returns the build id (the one its audit results carry, else a new
    one)."""
    build_id = build_id or new_build_id()
    con = db.connect(working)
    try:
        con.execute("CREATE SCHEMA IF NOT EXISTS ops")
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {BUILD_INFO} (build_id VARCHAR, as_of DATE, "
            "run_id VARCHAR, built_at TIMESTAMPTZ, published_at TIMESTAMPTZ)"
        )
        # a column added later: True when phones and e-mails were hashed with the demo salt
        con.execute(f"ALTER TABLE {BUILD_INFO} ADD COLUMN IF NOT EXISTS demo_salt BOOLEAN")
        con.execute(
            f"INSERT INTO {BUILD_INFO} (build_id, as_of, run_id, built_at, demo_salt) "
            "VALUES (?, ?, ?, ?, ?)",
            [build_id, as_of, run_id, datetime.now(timezone.utc), pii.using_demo_salt()],
        )
    finally:
        con.close()
    return build_id


def publish(settings: Settings, working: Path, build_id: str) -> Path:
    """Atomically replace the published warehouse with the audited working file (which is
    renamed: it no longer exists afterwards)."""
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
    with open(working, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(working, target)  # same folder: atomic, and the working file is gone
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
