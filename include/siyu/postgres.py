"""The PostgreSQL target: the same dbt project built on a PostgreSQL server.

For teams whose BI tools need a server, ``siyu run --target postgres`` (or
``SIYU_DBT_TARGET=postgres``) builds the warehouse in a PostgreSQL database instead of the
DuckDB file. Ingestion does not change: the loader still writes the per-source raw DuckDB
files (one writer per source, quarantine, lineage). This module then

1. copies every raw table into schema ``raw_<source>`` of the target database
   (``copy_raw``): DuckDB writes each table as CSV and psycopg2 streams it into the server
   with ``COPY ... FROM STDIN`` — no Python loop over rows. A source's schema is dropped and
   recreated in one transaction, so a run replaces the raw copy (idempotent) and readers of
   the old copy never see a half-loaded one;
2. runs ``dbt build --target postgres`` (the sources resolve to those schemas by
   ``target.type``, see ``models/staging/*/_*__sources.yml``);
3. grants a read-only BI role ``SELECT`` on the published schemas (``grant_read_only``).

Write-audit-publish, as for the DuckDB file (``siyu.publish``): dbt never builds in the schemas
BI reads. ``prepare_building`` copies the published schemas (``staging``, ``marts``, ... — the
incremental models and the identity history continue from them) to ``<schema>__building``;
dbt builds there (``SIYU_SCHEMA_SUFFIX``, macros/generate_schema_name.sql), and its tests are
the audit (the Great Expectations gates read DuckDB files and do not run on this target); then
``publish`` renames every ``<schema>__building`` over ``<schema>`` in one transaction. DDL is
transactional in PostgreSQL, so readers see the old build or the new one, never a mix; views
(the ``bi`` schema) follow their tables through the rename, since they refer to them by OID.
A failed build or test leaves the published schemas untouched and the ``__building`` ones for
debugging.

Connection settings come from the environment, like everything else (``config.py``):

| variable           | meaning                        | default     |
|--------------------|--------------------------------|-------------|
| SIYU_PG_HOST       | server host                    | 127.0.0.1   |
| SIYU_PG_PORT       | server port                    | 5432        |
| SIYU_PG_USER       | user dbt and the copy run as   | siyu        |
| SIYU_PG_PASSWORD   | its password                   | (empty)     |
| SIYU_PG_DATABASE   | the warehouse database         | siyu        |
| SIYU_PG_BI_ROLE    | NOLOGIN group of BI readers    | siyu_bi     |
| SIYU_PG_BI_USER    | a login user put in that group | (none)      |
| SIYU_PG_BI_PASSWORD| its password                   | (none)      |
| SIYU_PG_BI_SCHEMAS | schemas BI may read (comma)    | bi, or marts when bi does not exist |
| SIYU_SCHEMA_SUFFIX | set by `siyu` itself: suffix of the schemas a PostgreSQL build writes before the swap | (empty) |
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path


from . import db
from . import contract as C
from . import pii
from .config import Settings

#: The schemas dbt builds (dbt_project.yml, plus ``bi`` where the project has it): each is
#: built as ``<schema>__building`` and published by renaming.
PUBLISHED_SCHEMAS = ("staging", "intermediate", "marts", "audit", "config", "bi")
BUILDING = "__building"

#: DuckDB column types → PostgreSQL types of the raw copy. The raw layer only uses these;
#: an unknown type fails loudly rather than being guessed.
TYPE_MAP = {
    "VARCHAR": "text",
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "SMALLINT": "smallint",
    "DOUBLE": "double precision",
    "FLOAT": "real",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "JSON": "json",
}


def _pgoptions_value(value: str) -> str:
    """A value inside PGOPTIONS: backslash and white space escaped with a backslash."""
    return re.sub(r"([\\\s])", r"\\\1", value)


@dataclass(frozen=True)
class PgSettings:
    """Where the PostgreSQL warehouse is (environment ``SIYU_PG_*``)."""

    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "siyu"
    password: str = ""
    database: str = "siyu"

    @classmethod
    def from_env(cls) -> PgSettings:
        e = os.environ
        return cls(
            host=e.get("SIYU_PG_HOST", cls.host),
            port=int(e.get("SIYU_PG_PORT", cls.port)),
            user=e.get("SIYU_PG_USER", cls.user),
            password=e.get("SIYU_PG_PASSWORD", cls.password),
            database=e.get("SIYU_PG_DATABASE", cls.database),
        )

    def env(self) -> dict[str, str]:
        """Environment for dbt (profiles.yml output ``postgres``). ``PGTZ=UTC`` makes libpq
        start every session in UTC, as the DuckDB profile does with ``TimeZone: UTC``: casts
        between timestamptz and timestamp/date must not depend on the server's setting."""
        return {
            "SIYU_DBT_TARGET": "postgres",
            "SIYU_PG_HOST": self.host,
            "SIYU_PG_PORT": str(self.port),
            "SIYU_PG_USER": self.user,
            "SIYU_PG_PASSWORD": self.password,
            "SIYU_PG_DATABASE": self.database,
            "PGTZ": "UTC",
            # the PII salt as a session setting (macros/pii.sql), never in the compiled SQL
            "PGOPTIONS": "-c siyu.pii_salt=" + _pgoptions_value(pii.salt()),
        }

    def connect(self, **overrides):
        import psycopg2

        params = {"host": self.host, "port": self.port, "user": self.user,
                  "password": self.password, "dbname": self.database,
                  "options": "-c timezone=UTC", "application_name": "siyu"}
        params.update(overrides)
        return psycopg2.connect(**params)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _pg_type(duck_type: str) -> str:
    if duck_type.startswith("DECIMAL"):
        return duck_type.replace("DECIMAL", "numeric")
    try:
        return TYPE_MAP[duck_type]
    except KeyError:
        raise ValueError(f"no PostgreSQL type for DuckDB type {duck_type}") from None


def prepare_database(pg: PgSettings) -> None:
    """Database default timezone UTC, for sessions that do not set PGTZ (BI tools, psql)."""
    con = pg.connect()
    try:
        with con, con.cursor() as cur:
            cur.execute(f"ALTER DATABASE {_ident(pg.database)} SET timezone TO 'UTC'")
    finally:
        con.close()


def copy_raw(
    settings: Settings,
    pg: PgSettings,
    sources: Iterable[str] = C.SOURCES,
    progress: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Replace schema ``raw_<source>`` of the PostgreSQL database with the tables of each
    source's raw DuckDB file. Returns rows copied per ``schema.table``."""
    copied: dict[str, int] = {}
    con = pg.connect()
    try:
        for source in sources:
            t0 = time.perf_counter()
            schema = f"raw_{source}"
            duck = db.connect(settings.raw_db(source), read_only=True)
            try:
                duck.execute("SET TimeZone = 'UTC'")  # timestamptz text in UTC, offset +00
                tables = [r[0] for r in duck.execute(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = 'main' AND table_type = 'BASE TABLE' ORDER BY 1"
                ).fetchall()]
                with con, con.cursor() as cur, tempfile.TemporaryDirectory() as tmp:
                    cur.execute(f"DROP SCHEMA IF EXISTS {_ident(schema)} CASCADE")
                    cur.execute(f"CREATE SCHEMA {_ident(schema)}")
                    for table in tables:
                        copied[f"{schema}.{table}"] = _copy_table(
                            duck, cur, table, schema, Path(tmp) / f"{table}.csv")
            finally:
                duck.close()
            if progress:
                rows = sum(n for k, n in copied.items() if k.startswith(schema + "."))
                progress(f"  copied {schema}: {len(tables)} tables, {rows:,} rows "
                         f"in {time.perf_counter() - t0:.1f}s")
    finally:
        con.close()
    return copied


def _copy_table(duck, cur, table: str, schema: str, csv_path: Path) -> int:
    """One raw table: CREATE TABLE with mapped types, then DuckDB's CSV streamed by COPY.
    DuckDB writes NULL as an empty field and an empty string as ``""``, which is exactly how
    PostgreSQL's CSV format tells them apart."""
    cols = duck.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'main' AND table_name = ? ORDER BY ordinal_position", [table]
    ).fetchall()
    target = f"{_ident(schema)}.{_ident(table)}"
    cur.execute(f"CREATE TABLE {target} ("
                + ", ".join(f"{_ident(c)} {_pg_type(t)}" for c, t in cols) + ")")
    duck.execute(f"COPY main.{_ident(table)} TO '{csv_path}' (FORMAT csv, HEADER false)")
    with open(csv_path, encoding="utf-8") as fh:
        cur.copy_expert(f"COPY {target} FROM STDIN WITH (FORMAT csv)", fh)
    return cur.rowcount


def existing_schemas(pg: PgSettings, names: Iterable[str]) -> list[str]:
    con = pg.connect()
    try:
        with con.cursor() as cur:
            cur.execute("SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)", [list(names)])
            found = {r[0] for r in cur.fetchall()}
    finally:
        con.close()
    return [n for n in names if n in found]


def bi_schemas(pg: PgSettings, suffix: str = "") -> list[str]:
    """The schemas BI reads (names + ``suffix``): SIYU_PG_BI_SCHEMAS, else ``bi`` (the masked
    views) when the build has it, else ``marts``."""
    configured = os.environ.get("SIYU_PG_BI_SCHEMAS")
    if configured:
        return [s.strip() + suffix for s in configured.split(",") if s.strip()]
    return existing_schemas(pg, ["bi" + suffix]) or ["marts" + suffix]


def grant_read_only(
    pg: PgSettings,
    schemas: Iterable[str],
    role: str = "siyu_bi",
    login: str | None = None,
    password: str | None = None,
) -> None:
    """A read-only group role for BI: ``USAGE`` and ``SELECT`` on ``schemas`` only (tables
    there now, and — through default privileges of the building user — the tables dbt
    creates there later: a dbt table rebuild replaces the table, which would drop a plain
    grant). Nothing is granted on raw_* or staging, so the role gets "permission denied"
    there. ``login`` (with ``password``) is created as a LOGIN member of the group."""
    schemas = list(schemas)
    con = pg.connect()
    try:
        with con, con.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
            if not cur.fetchone():
                cur.execute(f"CREATE ROLE {_ident(role)} NOLOGIN")
            if login:
                cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [login])
                verb = "ALTER" if cur.fetchone() else "CREATE"
                cur.execute(f"{verb} ROLE {_ident(login)} LOGIN PASSWORD %s", [password])
                cur.execute(f"GRANT {_ident(role)} TO {_ident(login)}")
            cur.execute(f"GRANT CONNECT ON DATABASE {_ident(pg.database)} TO {_ident(role)}")
            for schema in schemas:
                s, r = _ident(schema), _ident(role)
                cur.execute(f"GRANT USAGE ON SCHEMA {s} TO {r}")
                cur.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO {r}")
                cur.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT SELECT ON TABLES TO {r}")
    finally:
        con.close()


def grant_from_env(pg: PgSettings, suffix: str = "") -> list[str]:
    """``grant_read_only`` with SIYU_PG_BI_* on the BI schemas (+ ``suffix``). The build grants
    on the ``__building`` schemas before publishing them: privileges stay with a schema and
    its tables through the rename, so BI can read the new build from its first moment."""
    schemas = bi_schemas(pg, suffix)
    grant_read_only(pg, schemas, role=os.environ.get("SIYU_PG_BI_ROLE", "siyu_bi"),
                    login=os.environ.get("SIYU_PG_BI_USER"),
                    password=os.environ.get("SIYU_PG_BI_PASSWORD"))
    return schemas


def _schemas_like(cur, suffix: str) -> list[str]:
    cur.execute("SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)",
                [[s + suffix for s in PUBLISHED_SCHEMAS]])
    return sorted(r[0] for r in cur.fetchall())


def prepare_building(pg: PgSettings) -> list[str]:
    """Start the ``<schema>__building`` schemas from the published ones (tables copied with
    their data; views are recreated by dbt). Returns the schemas copied."""
    con = pg.connect()
    try:
        with con, con.cursor() as cur:
            for schema in _schemas_like(cur, BUILDING):
                cur.execute(f"DROP SCHEMA {_ident(schema)} CASCADE")
            published = _schemas_like(cur, "")
            for schema in published:
                building = _ident(schema + BUILDING)
                cur.execute(f"CREATE SCHEMA {building}")
                cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", [schema])
                for (table,) in cur.fetchall():
                    t = _ident(table)
                    cur.execute(f"CREATE TABLE {building}.{t} "
                                f"(LIKE {_ident(schema)}.{t} INCLUDING ALL)")
                    cur.execute(f"INSERT INTO {building}.{t} SELECT * FROM {_ident(schema)}.{t}")
    finally:
        con.close()
    return published


def publish(pg: PgSettings) -> list[str]:
    """Swap every ``<schema>__building`` in for ``<schema>`` in one transaction (the old
    schema is dropped in the same transaction). Returns the published schemas."""
    con = pg.connect()
    try:
        with con, con.cursor() as cur:
            built = [s[: -len(BUILDING)] for s in _schemas_like(cur, BUILDING)]
            for schema in built:
                old = _ident(schema + "__previous")
                cur.execute(f"DROP SCHEMA IF EXISTS {old} CASCADE")
                cur.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema])
                if cur.fetchone():
                    cur.execute(f"ALTER SCHEMA {_ident(schema)} RENAME TO {old}")
                cur.execute(f"ALTER SCHEMA {_ident(schema + BUILDING)} RENAME TO {_ident(schema)}")
            for schema in built:
                cur.execute(f"DROP SCHEMA IF EXISTS {_ident(schema + '__previous')} CASCADE")
    finally:
        con.close()
    return built
