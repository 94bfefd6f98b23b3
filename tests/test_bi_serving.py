"""BI serving: the masked `bi` views, Parquet export, and BI reads while the pipeline builds.

One small generated landing zone is built for real (`siyu run`, the whole pipeline: ingest,
dbt, audit, publish). Then:

* every dim_/fct_/kpi_ mart has a view of the same name in schema `bi`, with its columns;
* no value of any bi view, nor of any view of the extracts' schema reports, looks like a phone
  or an e-mail in the clear, or equals/contains a name (contact, staff, shop nickname) of the
  raw layer -- the only place they are clear;
* `siyu export` writes the bi views as Parquet with the warehouse's row counts and values;
* while a second `siyu run` builds and publishes, a BI client (SQLAlchemy + duckdb-engine,
  the URI Superset uses) opens the published file read-only again and again: every read
  succeeds and sees one consistent build (ops.build_info agrees with the data it reads).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
import yaml

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[1]
PHONE_LIKE = re.compile(r"(?<!\d)(?:\+?86[\s-]?)?1\d{2}[\s-]?\d{4}[\s-]?\d{4}(?!\d)")
# hex ids (md5/sha256-style keys such as content_event_id) contain digit runs by chance
HEX_ID = re.compile(r"[0-9a-fA-F]{16,}")


def phone_like(value: str) -> bool:
    """A mobile number anywhere in the value, except inside a long hex id."""
    return bool(PHONE_LIKE.search(HEX_ID.sub(" ", value)))
EMAIL_CLEAR = re.compile(r"[^\s@*]{2,}@[^\s@]+\.[a-z]{2,}", re.IGNORECASE)


def _env(work: Path, landing: Path) -> dict:
    env = dict(os.environ)
    env.update(SIYU_LANDING_ROOT=str(landing), SIYU_WAREHOUSE=str(work / "wh" / "siyu.duckdb"),
               SIYU_LOG_DIR=str(work / "logs"), SIYU_TIMEZONE="Asia/Shanghai")
    env.pop("SIYU_RAW_DIR", None)
    return env


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    """A landing zone of 300 people x 40 days, published once for the day before its last."""
    work = tmp_path_factory.mktemp("bi")
    landing = work / "landing"
    subprocess.run([BIN / "siyu", "generate", "--out", landing, "--users", "300", "--days",
                    "40", "--start", "2025-03-01", "--seed", "5"],
                   check=True, capture_output=True, text=True)
    last = date.fromisoformat(json.loads((landing / "_manifest.json").read_text())["as_of"])
    env = _env(work, landing)
    proc = subprocess.run([BIN / "siyu", "run", "--as-of", str(last - timedelta(days=1))],
                          env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return {"work": work, "env": env, "last": last, "warehouse": work / "wh" / "siyu.duckdb",
            "raw": work / "wh" / "siyu_raw"}


def _con(path: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(path), read_only=True)


def _columns(con, schema: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for table, column in con.sql(
            "SELECT table_name, column_name FROM information_schema.columns "
            f"WHERE table_catalog = current_database() AND table_schema = '{schema}' "
            "ORDER BY table_name, ordinal_position").fetchall():
        out.setdefault(table, []).append(column)
    return out


def test_every_mart_has_a_bi_view_with_its_columns(built):
    # a mart whose yml says `meta: {bi: false}` has no generated view: none at all (the
    # predictive models' inputs), or a hand-written one in models/bi (bi_<mart>.sql)
    hand_written = {p.stem.removeprefix("bi_")
                    for p in (REPO / "dbt_project" / "models" / "bi").glob("bi_*.sql")}
    hidden = {name for name, m in _marts_yml().items()
              if ((m.get("config") or {}).get("meta") or {}).get("bi") is False} - hand_written
    assert {"fct_user_purchase_days", "fct_buyer_features"} <= hidden
    con = _con(built["warehouse"])
    try:
        marts = {t: c for t, c in _columns(con, "marts").items()
                 if re.match(r"(dim|fct|kpi|pred)_", t) and t not in hidden}
        bi = _columns(con, "bi")
        kinds = dict(con.sql("SELECT table_name, table_type FROM information_schema.tables "
                             "WHERE table_schema = 'bi'").fetchall())
    finally:
        con.close()
    assert len(marts) >= 30
    assert set(bi) == set(marts)
    assert set(kinds.values()) == {"VIEW"}
    for table, columns in marts.items():
        assert bi[table] == columns, table
    assert bi["dim_staff"] == ["staff_id", "name_masked", "department", "role", "is_active"]


def _marts_yml() -> dict[str, dict]:
    """Each mart's yml entry (models/marts/**/*.yml), by name."""
    out = {}
    for path in (REPO / "dbt_project" / "models" / "marts").rglob("*.yml"):
        for model in (yaml.safe_load(path.read_text()) or {}).get("models", []):
            out[model["name"]] = model
    return out


def test_bi_views_are_generated_from_the_marts_yml_with_its_docs(built):
    """macros/bi.sql: a mart's BI view carries its documented columns and their descriptions
    as comments (the docs written once, in the mart's yml)."""
    con = _con(built["warehouse"])
    try:
        views = dict(con.sql("SELECT view_name, comment FROM duckdb_views() "
                             "WHERE schema_name = 'bi'").fetchall())
        comments = {(t, c): text for t, c, text in con.sql(
            "SELECT table_name, column_name, comment FROM duckdb_columns() "
            "WHERE schema_name = 'bi'").fetchall()}
    finally:
        con.close()
    fold = " ".join
    generated = {name: m for name, m in _marts_yml().items()
                 if name in views and ((m.get("config") or {}).get("meta") or {}).get("bi", True)}
    assert len(generated) >= 30 and "dim_user_identifiers" not in generated
    for name, model in generated.items():
        assert views[name].startswith(f"BI view of marts.{name} "), name
        assert fold(model["description"].split()) in views[name], name
        for column in model["columns"]:
            assert comments[(name, column["name"])] == fold(column["description"].split()), \
                (name, column["name"])


def test_no_clear_personal_data_in_bi_or_reports_views(built):
    raw = built["raw"]
    con = duckdb.connect()
    try:
        for source in ("crm", "shop"):
            con.execute(f"ATTACH '{raw / (source + '.duckdb')}' AS raw_{source} (READ_ONLY)")
        con.execute(f"ATTACH '{built['warehouse']}' AS wh (READ_ONLY)")
        names = {n for (n,) in con.sql(
            "SELECT DISTINCT trim(name) FROM raw_crm.contacts WHERE name IS NOT NULL UNION "
            "SELECT DISTINCT trim(name) FROM raw_crm.staff WHERE name IS NOT NULL UNION "
            "SELECT DISTINCT trim(nickname) FROM raw_shop.customers WHERE nickname IS NOT NULL"
        ).fetchall() if n}
        phones = con.sql("SELECT count(*) FROM raw_crm.contacts WHERE phone IS NOT NULL"
                         ).fetchall()[0][0]
        assert len(names) > 50 and phones > 50  # the raw layer does hold clear values
        # the bi views and the extracts' views (schema reports, which BI may read too)
        text_columns = con.sql(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns "
            "WHERE table_catalog = 'wh' AND table_schema IN ('bi', 'reports') "
            "AND data_type = 'VARCHAR'"
        ).fetchall()
        assert {s for s, _t, _c in text_columns} == {"bi", "reports"}
        values: dict[tuple[str, str], set[str]] = {}
        for schema, table, column in text_columns:
            key = table if schema == "bi" else f"{schema}.{table}"
            values[(key, column)] = {v for (v,) in con.sql(
                f'SELECT DISTINCT "{column}" FROM wh.{schema}."{table}" WHERE "{column}" IS NOT NULL'
            ).fetchall()}
    finally:
        con.close()
    assert sum(len(v) for v in values.values()) > 1000
    long_names = [n for n in names if len(n) >= 2]
    leaks = []
    for (table, column), vals in values.items():
        for v in vals:
            if phone_like(v) or EMAIL_CLEAR.search(v) or v.strip() in names or any(
                    n in v for n in long_names):
                leaks.append((table, column, v))
    assert leaks == []
    # the masked forms are there instead
    masked = values[("dim_user_identifiers", "identifier_value")]
    assert any(re.fullmatch(r"1\d\d\*{4}\d{4}", v) for v in masked)
    assert any(re.fullmatch(r".\*\*\*@.+", v) for v in masked)
    assert all(re.fullmatch(r".\**", v) for v in values[("dim_staff", "name_masked")])
    assert all(re.fullmatch(r".\**", v) for v in values[("reports.rpt_shared__todo", "staff_name")])


def test_export_parquet_round_trip(built, tmp_path):
    out = tmp_path / "export"
    proc = subprocess.run([BIN / "siyu", "export", "--format", "parquet", "--warehouse",
                           built["warehouse"], "--out", out], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((out / "_manifest.json").read_text())
    assert manifest["schema"] == "bi" and manifest["build"]["build_id"]
    con = _con(built["warehouse"])
    try:
        views = [t for (t,) in con.sql("SELECT table_name FROM information_schema.tables "
                                       "WHERE table_schema = 'bi' ORDER BY 1").fetchall()]
        assert [t["table"] for t in manifest["tables"]] == views
        for t in manifest["tables"]:
            parquet = str(out / t["file"])
            want = con.sql(f'SELECT count(*) FROM bi."{t["table"]}"').fetchall()[0][0]
            got = con.sql(f"SELECT count(*) FROM read_parquet('{parquet}')").fetchall()[0][0]
            assert got == want == t["rows"], t
            assert f"bi.{t['table']}: {t['rows']:,} rows" in proc.stdout
        # values, not only counts: revenue and one KPI row
        q = "SELECT sum(net_revenue), count(DISTINCT user_id) FROM {}"
        assert (con.sql(q.format(f"read_parquet('{out / 'fct_orders.parquet'}')")).fetchall()
                == con.sql(q.format("bi.fct_orders")).fetchall())
        q = ("SELECT value, target, status FROM {} WHERE department = 'all' "
             "AND kpi = 'net_revenue' ORDER BY date DESC LIMIT 1")
        assert (con.sql(q.format(f"read_parquet('{out / 'kpi_department_daily.parquet'}')"))
                .fetchall() == con.sql(q.format("bi.kpi_department_daily")).fetchall())
    finally:
        con.close()


def _bi_read(engine) -> tuple[str, date, date, int]:
    """One BI session: the published build, and data read through the bi views."""
    from sqlalchemy import text

    with engine.connect() as c:
        build_id, as_of = c.execute(text(
            "SELECT build_id, as_of FROM ops.build_info WHERE published_at IS NOT NULL "
            "ORDER BY published_at DESC LIMIT 1")).one()
        newest = c.execute(text("SELECT max(date) FROM bi.kpi_department_daily")).scalar()
        orders = c.execute(text("SELECT count(*) FROM bi.fct_orders")).scalar()
        c.execute(text("SELECT * FROM bi.dim_user_identifiers LIMIT 5")).all()
    return build_id, as_of, newest, orders


def test_bi_reads_the_published_file_while_the_pipeline_builds(built):
    """Superset/Metabase open the published file read-only through duckdb-engine while the
    next build runs and is published: no read fails, each sees one whole build."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    url = f"duckdb:///{built['warehouse'].resolve()}?access_mode=read_only"
    assert url.startswith("duckdb:////")
    # NullPool: a new DuckDB connection (a fresh open of the file) for every session
    engine = create_engine(url, poolclass=NullPool)
    before = _bi_read(engine)
    assert before[1] == before[2] == built["last"] - timedelta(days=1)

    run = subprocess.Popen([BIN / "siyu", "run", "--as-of", str(built["last"])],
                           env=built["env"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    reads, failures = [], []
    deadline = time.monotonic() + 900
    while run.poll() is None and time.monotonic() < deadline:
        try:
            reads.append(_bi_read(engine))
        except Exception as exc:  # noqa: BLE001 - every failure is the finding
            failures.append(repr(exc)[:300])
        time.sleep(0.2)
    out, err = run.communicate(timeout=60)
    assert run.returncode == 0, out[-3000:] + err[-3000:]
    after = _bi_read(engine)
    engine.dispose()

    new_seen = sum(1 for r in reads if r == after)
    print(f"\n{len(reads)} BI reads while siyu run built and published "
          f"({len(reads) - new_seen} of the old build, {new_seen} of the new), "
          f"{len(failures)} failed")
    assert failures == []
    assert len(reads) >= 10
    assert after[0] != before[0] and after[1] == after[2] == built["last"]
    for build_id, as_of, newest, orders in reads:
        # a consistent build: the stamp and the data it describes come from the same file
        assert (build_id, as_of, newest, orders) in (before, after)


def test_sqlalchemy_reflects_every_bi_view_with_its_columns_and_comments(built):
    """What Superset and Metabase do when a dataset is added: SQLAlchemy (duckdb-engine, the
    URI Superset uses) lists the bi views and reflects each one's columns, types and the
    comments the build wrote from the marts' yml."""
    from sqlalchemy import create_engine, inspect

    engine = create_engine(f"duckdb:///{built['warehouse']}", connect_args={"read_only": True})
    try:
        inspector = inspect(engine)
        views = inspector.get_view_names(schema="bi")
        reflected = {v: inspector.get_columns(v, schema="bi") for v in views}
    finally:
        engine.dispose()
    con = _con(built["warehouse"])
    try:
        expected = _columns(con, "bi")
    finally:
        con.close()
    assert set(views) == set(expected) and len(views) >= 30
    for view, columns in reflected.items():
        assert [c["name"] for c in columns] == expected[view], view
        assert all(c["type"] is not None for c in columns), view
    assert reflected["fct_orders"][0]["comment"]  # the docs reach the BI tool
