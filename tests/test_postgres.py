"""The PostgreSQL target: one landing zone built with `siyu run` on DuckDB and with
`siyu run --target postgres` on a real PostgreSQL server gives the same published marts, and the
BI role reads the published schema but not the raw layer or staging.

The server is started here, on loopback, from the Debian package's binaries (installed with
apt-get when missing and running as root; `make test` installs it too): initdb into a fresh
temporary directory, a free port, the unix socket in that directory, stopped at teardown.
initdb and postgres refuse to run as root, so as root they run as the `postgres` OS user.
"""

from __future__ import annotations

import glob
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import duckdb
import psycopg2
import pytest
from psycopg2 import errors
from siyu import postgres as pgmod
from siyu.config import Settings

BIN = Path(sys.executable).parent
SUPERUSER = "siyu"
SUPERUSER_PASSWORD = "siyu-test-admin"
BI_USER = "bi_reader"
BI_PASSWORD = "bi-test-reader"
REL_TOL = 1e-9


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found and os.geteuid() == 0:
        subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "postgresql"],
                       check=True, capture_output=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.fail("PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb): "
                    "install the Debian package `postgresql` (make system-deps)")
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def pg_server():
    """A throwaway PostgreSQL cluster on 127.0.0.1 (C collation: strings sort byte-wise, as
    in DuckDB). Yields its PgSettings (superuser, database siyu)."""
    bindir = _pg_bin()
    as_root = os.geteuid() == 0
    # not under pytest's tmp dir: that is private to root, and the server runs as `postgres`
    root = Path(tempfile.mkdtemp(prefix="siyu-pg-"))
    run_as = ["runuser", "-u", "postgres", "--"] if as_root else []
    (root / "pwfile").write_text(SUPERUSER_PASSWORD + "\n")
    if as_root:
        shutil.chown(root, "postgres")
        shutil.chown(root / "pwfile", "postgres")
    data, port = root / "data", _free_port()
    subprocess.run([*run_as, bindir / "initdb", "-D", data, "-U", SUPERUSER,
                    "--pwfile", root / "pwfile", "--auth-local=trust",
                    "--auth-host=scram-sha-256", "--locale=C", "--encoding=UTF8"],
                   check=True, capture_output=True)
    options = (f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off "
               "-c synchronous_commit=off -c full_page_writes=off")
    subprocess.run([*run_as, bindir / "pg_ctl", "-D", data, "-l", root / "server.log",
                    "-o", options, "-w", "start"], check=True, capture_output=True)
    try:
        admin = pgmod.PgSettings(port=port, user=SUPERUSER, password=SUPERUSER_PASSWORD,
                                 database="postgres")
        con = admin.connect()
        con.autocommit = True
        con.cursor().execute("CREATE DATABASE siyu")
        con.close()
        yield pgmod.PgSettings(port=port, user=SUPERUSER, password=SUPERUSER_PASSWORD,
                               database="siyu")
    finally:
        subprocess.run([*run_as, bindir / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop"],
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def _env(tmp: Path, landing: Path, pg: pgmod.PgSettings | None = None) -> dict:
    env = dict(os.environ)
    env.pop("SIYU_RAW_DIR", None)
    env.pop("SIYU_DBT_TARGET", None)
    env.update(SIYU_LANDING_ROOT=str(landing), SIYU_WAREHOUSE=str(tmp / "wh" / "siyu.duckdb"),
               SIYU_LOG_DIR=str(tmp / "logs"), SIYU_TIMEZONE="Asia/Shanghai")
    if pg is not None:
        env.update(pg.env())
        env.update(SIYU_PG_BI_USER=BI_USER, SIYU_PG_BI_PASSWORD=BI_PASSWORD)
    return env


def _siyu_run(env: dict, as_of: str, *extra: str) -> None:
    proc = subprocess.run([BIN / "siyu", "run", "--as-of", as_of, *extra], env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def _value(v):
    """One cell in a comparable form: numerics as float, aware timestamps as naive UTC."""
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, datetime) and v.tzinfo is not None:
        return v.astimezone(timezone.utc).replace(tzinfo=None)
    return v


def _sort_key(row: tuple) -> tuple:
    # floats rounded for ordering only, so last-bit differences do not reorder rows
    return tuple((v is None, f"{v:.9g}" if isinstance(v, float) else str(v)) for v in row)


def _table(columns: list[str], rows: list[tuple]) -> tuple[list[str], list[tuple]]:
    return columns, sorted((tuple(_value(v) for v in r) for r in rows), key=_sort_key)


# dbt Python models, which dbt-postgres cannot run: built on DuckDB only (DECISIONLOG,
# "Predictive KPIs"); the comparison covers every other mart
DUCKDB_ONLY_MARTS = {"pred_customer_90d", "pred_model_evaluation", "fct_user_purchase_days",
                     "fct_buyer_features"}


def _duckdb_marts(path: Path) -> dict:
    con = duckdb.connect(str(path), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        names = [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' ORDER BY 1"
        ).fetchall() if r[0] not in DUCKDB_ONLY_MARTS]
        out = {}
        for name in names:
            cur = con.execute(f'SELECT * FROM marts."{name}"')
            out[name] = _table([d[0] for d in cur.description], cur.fetchall())
        return out
    finally:
        con.close()


def _postgres_marts(pg: pgmod.PgSettings) -> dict:
    con = pg.connect()
    try:
        with con.cursor() as cur:
            cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'marts' ORDER BY 1")
            names = [r[0] for r in cur.fetchall()]
            out = {}
            for name in names:
                cur.execute(f'SELECT * FROM marts."{name}"')
                out[name] = _table([d[0] for d in cur.description], cur.fetchall())
        return out
    finally:
        con.close()


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=REL_TOL)
    return a == b


def _differences(duck: dict, pg: dict) -> list[str]:
    problems = []
    if sorted(duck) != sorted(pg):
        problems.append(f"tables differ: only duckdb {sorted(set(duck) - set(pg))}, "
                        f"only postgres {sorted(set(pg) - set(duck))}")
    for name in sorted(set(duck) & set(pg)):
        (dcols, drows), (pcols, prows) = duck[name], pg[name]
        if dcols != pcols:
            problems.append(f"{name}: columns {dcols} != {pcols}")
            continue
        if len(drows) != len(prows):
            problems.append(f"{name}: {len(drows)} rows on duckdb, {len(prows)} on postgres")
            continue
        for i, (dr, pr) in enumerate(zip(drows, prows, strict=True)):
            bad = [c for c, a, b in zip(dcols, dr, pr, strict=True) if not _same(a, b)]
            if bad:
                problems.append(f"{name} row {i}: columns {bad}: duckdb {dr} != postgres {pr}")
                break
    return problems


def test_postgres_build_equals_duckdb_and_bi_role_is_read_only(tmp_path, published_landing,
                                                               pg_server):
    # the DuckDB side: the session's published warehouse (tests/extracts_fixtures.py), built by
    # `siyu run` from this landing zone with the same settings
    landing_root, manifest, duck_wh = published_landing
    as_of = manifest["as_of"]

    pg_env = _env(tmp_path / "pg", landing_root, pg_server)
    _siyu_run(pg_env, as_of, "--target", "postgres")

    duck = _duckdb_marts(duck_wh)
    pg = _postgres_marts(pg_server)
    assert len(duck) >= 20 and sum(len(rows) for _, rows in duck.values()) > 1000
    problems = _differences(duck, pg)
    assert not problems, "\n".join(problems)

    # write-audit-publish: the build went to <schema>__building, renamed over the published
    # schemas; none is left behind
    con = pg_server.connect()
    with con.cursor() as cur:
        cur.execute("SELECT nspname FROM pg_namespace WHERE strpos(nspname, '__') > 0")
        assert cur.fetchall() == []
    con.close()

    # the audit ran the raw batches' quality gate (results beside the Data Docs)
    wh = tmp_path / "pg" / "wh"
    with duckdb.connect(str(wh / "quality" / "dq_results.duckdb"), read_only=True) as q:
        assert q.execute("SELECT count(*) > 0 AND bool_and(success OR severity <> 'critical') "
                         "FROM ops.dq_results").fetchone() == (True,)

    # the raw copy is replaced, not appended to, by a second copy
    settings = Settings.from_env(warehouse=wh / "siyu.duckdb", raw_dir=wh / "siyu_raw")
    first = pgmod.copy_raw(settings, pg_server)
    assert pgmod.copy_raw(settings, pg_server) == first

    # the BI login reads the masked bi views (same rows as DuckDB's), and nothing else
    duck_con = duckdb.connect(str(duck_wh), read_only=True)
    try:
        duck_bi = {name: duck_con.execute(f'SELECT count(*) FROM bi."{name}"').fetchone()[0]
                   for (name,) in duck_con.execute(
                       "SELECT view_name FROM duckdb_views() WHERE schema_name = 'bi'").fetchall()
                   if name not in DUCKDB_ONLY_MARTS}
    finally:
        duck_con.close()
    assert "dim_users" in duck_bi and "dim_user_identifiers" in duck_bi
    bi = pg_server.connect(user=BI_USER, password=BI_PASSWORD)
    try:
        with bi.cursor() as cur:
            for name, rows in duck_bi.items():
                cur.execute(f'SELECT count(*) FROM bi."{name}"')
                assert cur.fetchone()[0] == rows, name
            # phones and e-mails only masked (138****8000, z***@example.com), never the hash
            cur.execute("SELECT identifier_value FROM bi.dim_user_identifiers "
                        "WHERE identifier_type IN ('phone', 'email')")
            values = [v for (v,) in cur.fetchall()]
            assert values and all("*" in v and len(v) < 64 for v in values)
        bi.rollback()
        for relation in ("raw_crm.contacts", "staging.stg_crm__contacts", "marts.dim_users"):
            with pytest.raises(errors.InsufficientPrivilege), bi.cursor() as cur:
                cur.execute(f"SELECT * FROM {relation} LIMIT 1")
            bi.rollback()
        with pytest.raises(psycopg2.Error), bi.cursor() as cur:
            cur.execute("CREATE TABLE bi.bi_was_here (i int)")
        bi.rollback()
    finally:
        bi.close()
