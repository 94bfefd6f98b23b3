"""Every DuckDB connection Siyu opens, with bounded resources.

DuckDB's defaults take 80% of the machine's memory and every core; one more job on the box
and the kernel kills the build. Every Python connection (``connect``) and dbt's profile
(``dbt_project/profiles.yml`` reads the same variables) apply:

| variable                  | DuckDB setting            | default                                 |
|---------------------------|---------------------------|-----------------------------------------|
| SIYU_DUCKDB_MEMORY_LIMIT  | DuckDB `memory_limit` (beyond it, DuckDB spills to disk) | `8GB` (leaves room on a 24 GB box) |
| SIYU_DUCKDB_THREADS       | DuckDB `threads`          | the machine's cores, at most 4          |
| SIYU_DUCKDB_TEMP_DIR      | DuckDB `temp_directory` (where it spills) | DuckDB's own (`<file>.tmp` beside it) |

and always `preserve_insertion_order = false` (lets big sorts and copies stream).

Writes that must be all-or-nothing use `transaction(con)` (see its doc: a full disk must be
reported as such, not as a failed ROLLBACK).

`memory_limit` bounds DuckDB's buffer manager: beyond it, joins, sorts and aggregates spill to
`temp_directory`. The process's peak RSS is a little above it (Python, the catalog).
Connections that work at the same time share it: `siyu run` ingests its three sources at once,
each connection with a third of the limit (`memory_limit_share`).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

DEFAULT_MEMORY_LIMIT = "8GB"
MAX_DEFAULT_THREADS = 4

log = logging.getLogger(__name__)


def memory_limit() -> str:
    return os.environ.get("SIYU_DUCKDB_MEMORY_LIMIT") or DEFAULT_MEMORY_LIMIT


_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def memory_limit_share(parts: int) -> str:
    """``memory_limit()`` divided by ``parts`` (for connections that run at the same time), in
    MB; the limit itself when it is not an amount DuckDB's way (``8GB``, ``512MiB``, ...)."""
    limit = memory_limit()
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*", limit)
    unit = _UNITS.get((m.group(2) or "b").lower()) if m else None
    if parts <= 1 or unit is None:
        return limit
    return f"{max(1, int(float(m.group(1)) * unit / parts / 10**6))}MB"


def threads() -> int:
    value = os.environ.get("SIYU_DUCKDB_THREADS")
    if value:
        n = int(value)
        if n < 1:
            raise ValueError(f"SIYU_DUCKDB_THREADS must be >= 1, not {value!r}")
        return n
    return max(1, min(os.cpu_count() or 1, MAX_DEFAULT_THREADS))


def temp_directory() -> str | None:
    value = os.environ.get("SIYU_DUCKDB_TEMP_DIR")
    return str(Path(value).expanduser()) if value else None


def config(read_only: bool = False) -> dict[str, str | int | bool]:
    """The DuckDB configuration of every connection (``duckdb.connect(config=...)``)."""
    cfg: dict[str, str | int | bool] = {
        "memory_limit": memory_limit(),
        "threads": threads(),
        "preserve_insertion_order": False,
    }
    temp = temp_directory()
    if temp and not read_only:
        Path(temp).mkdir(parents=True, exist_ok=True)
        cfg["temp_directory"] = temp
    return cfg


def connect(path: Path | str = ":memory:", read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with Siyu's resource limits (see the module doc)."""
    return duckdb.connect(str(path), read_only=read_only, config=config(read_only))


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """``BEGIN`` ... ``COMMIT``, or ``ROLLBACK`` when the block raises, reporting the block's
    own error. DuckDB aborts a transaction by itself on some failures (a full disk, an
    out-of-memory), and the ROLLBACK then fails with "cannot rollback - no transaction is
    active", which would mask the real cause ("No space left on device"): a failed ROLLBACK
    is logged and the original error raised. A failed COMMIT raises its own error."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException as exc:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error as rollback_error:
            log.debug("ROLLBACK after %s failed: %s", type(exc).__name__, rollback_error)
        raise
    con.execute("COMMIT")
