"""Data-quality gate (include/siyu/quality.py, expectations/raw.*.json).

Tiny hand-made DuckDB files: raw tables (contract columns + lineage), and a warehouse with the
marts and staging tables the business warnings read. Every critical expectation of every raw
suite is violated once, by one bad row, and the report must list exactly that expectation as
failed. The marts' rules are dbt tests now (one home per check): tests/test_dbt_mart_tests.py.
The last test validates the raw batches of the real pipeline's small generated landing zone.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path

import duckdb
import pytest
from siyu import contract as C
from siyu import quality as Q
from siyu.config import Settings

BIN = Path(sys.executable).parent
DAY = date(2025, 4, 9)
PREV = DAY - timedelta(days=1)
SUITES = Q.load_suites()

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _ms(moment: str) -> str:
    """Epoch milliseconds of a Shanghai wall time."""
    local = datetime.fromisoformat(moment).replace(tzinfo=timezone(timedelta(hours=8)))
    return str(int(local.timestamp() * 1000))


# --------------------------------------------------------------------------- raw fixture

RAW_ROWS: dict[str, dict[str, str | None]] = {  # one clean row per entity; the 2nd varies key[0]
    "crm/contacts": dict(
        contact_id="C00000001", external_userid="wm001", unionid="o_abc", name="张三",
        phone="+86 138 0013 8000", email="Zhang@Example.com", city="上海",
        source_channel="douyin_ad", owner_staff_id="sales_000",
        created_at="2025-04-09 10:00:00", updated_at="2025-04-09 10:00:00", is_deleted="false"),
    "crm/contact_tags": dict(
        contact_id="C00000001", tag_group="lifecycle", tag_name="新客", action="add",
        tagged_at="2025-04-09 11:00:00", staff_id="ops_000"),
    "crm/staff": dict(
        staff_id="svc_000", name="李四", department="service", role="客服专员", is_active="true",
        updated_at="2025-04-09 09:00:00"),
    "crm/campaigns": dict(
        campaign_id="CP001", channel="douyin_ad", department="marketing", start_date="2025-04-01",
        end_date="2025-04-30", spend_cny="1000.00", updated_at="2025-04-09 09:00:00"),
    "crm/surveys": dict(
        response_id="S001", contact_id="C00000001", score="9", submitted_at="2025-04-09 12:00:00"),
    "shop/orders": dict(
        order_id="T0001", buyer_id="B0001", buyer_phone="13800138000", unionid="o_abc",
        channel="tmall", status="paid", created_at="2025-04-09T10:00:00+08:00",
        paid_at="2025-04-09T10:01:00+08:00", updated_at="2025-04-09T10:01:00+08:00",
        currency="CNY", total_amount="100.00", discount_amount="0.00", shipping_amount="0.00",
        paid_amount="100.00", coupon_code=None, items="[]"),
    "shop/refunds": dict(
        refund_id="R001", order_id="T0001", amount="10.00",
        refunded_at="2025-04-09T12:00:00+08:00", reason="不想要了"),
    "shop/customers": dict(
        buyer_id="B0001", phone="13800138000", unionid="o_abc", nickname="小张",
        registered_at="2025-04-01T08:00:00+08:00", updated_at="2025-04-09T08:00:00+08:00"),
    "community/messages": dict(
        msgid="100_1", chat_type="group", roomid="wr001", **{"from": "wm001"},
        from_type="customer", tolist='["svc_000"]', msgtime=_ms("2025-04-09T10:00:00"),
        msgtype="text", content="你好"),
    "community/groups": dict(
        roomid="wr001", name="VIP群", owner_staff_id="ops_000", created_at=_ms("2025-04-01T10:00:00"),
        category="vip", updated_at=_ms("2025-04-09T10:00:00")),
    "community/group_members": dict(
        roomid="wr001", member_id="wm001", member_type="customer", action="join",
        event_time=_ms("2025-04-09T10:00:00")),
    "community/content_pushes": dict(
        push_id="PU001", content_id="CT001", title="新品", channel="group", staff_id="ops_000",
        sent_time=_ms("2025-04-09T09:00:00")),
    "community/content_events": dict(
        push_id="PU001", external_userid="wm001", event="opened",
        event_time=_ms("2025-04-09T09:30:00")),
}


def _raw_table_sql(e: C.Entity) -> str:
    cols = ", ".join(f'"{f.name}" {"JSON" if f.kind == C.JSON else "VARCHAR"}' for f in e.fields)
    # no NOT NULL constraints: the tests must be able to write the rows a broken load would
    return (f'CREATE TABLE "{e.table}" ({cols}, _dt DATE, _file VARCHAR, _line BIGINT,'
            " _load_id VARCHAR, _loaded_at TIMESTAMPTZ, _extra JSON)")


def build_raw(raw_dir: Path) -> None:
    raw_dir.mkdir(parents=True, exist_ok=True)
    loaded_at = datetime(2025, 4, 10, 2, 5, tzinfo=timezone.utc)
    for source in C.SOURCES:
        con = duckdb.connect(str(raw_dir / f"{source}.duckdb"))
        for e in C.entities_of(source):
            con.execute(_raw_table_sql(e))
            ext = "csv" if e.fmt == "csv" else "jsonl"
            first_line = 2 if e.fmt == "csv" else 1
            base = RAW_ROWS[e.path]
            second = dict(base, **{e.key[0]: base[e.key[0]] + "2"})
            rows = [(base, DAY, first_line), (second, DAY, first_line + 1),
                    # another day's row, broken: the day batch must not see it
                    ({**base, e.key[0]: None}, PREV, 0)]
            for values, dt, line in rows:
                file = f"{source}/{e.name}/dt={dt.isoformat()}/part-1.{ext}"
                con.execute(
                    f'INSERT INTO "{e.table}" VALUES ({", ".join("?" * (len(e.fields) + 6))})',
                    [*(values[c] for c in e.columns), dt, file, line, f"{source}-L1",
                     loaded_at, None],
                )
        con.close()


@pytest.fixture(scope="module")
def raw_template(tmp_path_factory) -> Path:
    raw_dir = tmp_path_factory.mktemp("raw_template") / "siyu_raw"
    build_raw(raw_dir)
    return raw_dir


def raw_settings(tmp_path: Path, raw_template: Path) -> Settings:
    raw_dir = tmp_path / "siyu_raw"
    shutil.copytree(raw_template, raw_dir)
    return Settings.from_env(landing_root=tmp_path, warehouse=tmp_path / "siyu.duckdb",
                             raw_dir=raw_dir)


def _raw_mutation(e: C.Entity, spec: dict) -> str:
    """SQL making one row of day DAY violate one critical raw expectation."""
    t, k = f'"{e.table}"', spec["kwargs"]
    first = f"rowid = (SELECT min(rowid) FROM {t} WHERE _dt = DATE '{DAY}')"
    second = f"rowid = (SELECT max(rowid) FROM {t} WHERE _dt = DATE '{DAY}')"
    kind = spec["type"]
    if kind == "expect_table_columns_to_match_set":
        return f"ALTER TABLE {t} DROP COLUMN _extra"
    if kind == "expect_column_values_to_not_be_null":
        return f'UPDATE {t} SET "{k["column"]}" = NULL WHERE {first}'
    if kind == "expect_compound_columns_to_be_unique":
        assert k["column_list"] == ["_file", "_line"]
        return (f"UPDATE {t} SET _line = (SELECT _line FROM {t} WHERE {first}) WHERE {second}")
    if kind == "expect_column_values_to_be_in_set" and k["column"] == "_file_matches_dt":
        return f"UPDATE {t} SET _file = '{e.path}/dt=2025-01-01/part-1.x' WHERE {first}"
    if kind == "expect_column_values_to_be_between" and k["column"] == "_line":
        return f"UPDATE {t} SET _line = {k['min_value'] - 1} WHERE {first}"
    raise AssertionError(f"no violation written for {e.path}: {kind} {k}")


RAW_CASES = [
    pytest.param(e, spec, id=f"{e.path}:{i}")
    for e in C.ENTITIES
    for i, spec in enumerate(SUITES[Q.raw_suite_name(e.source, e.name)].expectations)
    if spec["severity"] == Q.CRITICAL
]


def test_clean_raw_day_passes_every_check(tmp_path, raw_template):
    s = raw_settings(tmp_path, raw_template)
    for source in C.SOURCES:
        report = Q.validate_raw_day(s, source, DAY, "run-clean")
        assert report.failures == [], [(f.table, f.expectation, f.observed_value)
                                       for f in report.failures]
        assert {r.batch for r in report.results} == {DAY.isoformat()}
        assert {r.table for r in report.results} == {
            f"{source}.{e.table}" for e in C.entities_of(source)}


@pytest.mark.parametrize("entity,spec", RAW_CASES)
def test_raw_suite_catches_each_critical_violation(tmp_path, raw_template, entity, spec):
    s = raw_settings(tmp_path, raw_template)
    con = duckdb.connect(str(s.raw_db(entity.source)))
    con.execute(_raw_mutation(entity, spec))
    con.close()
    report = Q.validate_raw_day(s, entity.source, DAY, "run-x", entities=[entity.name])
    label = Q.expectation_label(spec["type"], spec["kwargs"])
    assert [f.expectation for f in report.critical_failures] == [label]
    assert report.warning_failures == []


# --------------------------------------------------------------------------- warehouse fixture

WAREHOUSE_SQL = """
CREATE SCHEMA marts; CREATE SCHEMA staging;
CREATE TABLE marts.dim_dates AS SELECT CAST(d AS DATE) AS date_day
    FROM generate_series(TIMESTAMP '2025-03-01', TIMESTAMP '2025-04-09', INTERVAL 1 DAY) t(d);
CREATE TABLE marts.dim_users (user_id VARCHAR, first_seen_at TIMESTAMP, source_channel VARCHAR,
    owner_staff_id VARCHAR, department VARCHAR, is_active_contact BOOLEAN,
    first_purchase_at TIMESTAMP, qualifying_purchases BIGINT, ltv DECIMAL(18,2),
    lifecycle_stage VARCHAR, rfm_r INTEGER, rfm_f INTEGER, rfm_m INTEGER);
INSERT INTO marts.dim_users VALUES
 ('u_0000000000000001', '2025-04-01 10:00:00', 'douyin_ad', 'sales_000', 'sales', true,
  '2025-04-01 10:01:00', 1, 90.00, 'new', 5, 1, 4),
 ('u_0000000000000002', '2025-04-08 09:00:00', 'unknown', NULL, NULL, false,
  NULL, 0, 0.00, 'new', NULL, NULL, NULL),
 ('u_0000000000000003', '2025-03-01 08:00:00', 'store_qr', 'svc_000', 'service', true,
  '2025-03-02 09:00:00', 1, 150.00, 'active', 3, 1, 5);
CREATE TABLE marts.dim_user_identifiers (identifier_type VARCHAR, identifier_value VARCHAR,
    user_id VARCHAR, source_records BIGINT);
INSERT INTO marts.dim_user_identifiers VALUES
 ('contact_id', 'C00000001', 'u_0000000000000001', 1),
 ('phone', sha256('demo-salt13800138000'), 'u_0000000000000001', 2),
 ('email', sha256('demo-saltzhang@example.com'), 'u_0000000000000001', 1),
 ('buyer_id', 'B0001', 'u_0000000000000001', 1),
 ('external_userid', 'wm001', 'u_0000000000000003', 1),
 ('unionid', 'o_abc', 'u_0000000000000003', 1),
 ('phone', sha256('demo-salt13900139000'), 'u_0000000000000003', 1);
CREATE TABLE marts.fct_orders (order_id VARCHAR, user_id VARCHAR, buyer_id VARCHAR,
    channel VARCHAR, status VARCHAR, created_at TIMESTAMP, paid_at TIMESTAMP, order_date DATE,
    paid_amount DECIMAL(18,2), refunds BIGINT, refunded_amount DECIMAL(18,2), is_paid BOOLEAN,
    net_revenue DECIMAL(18,2), is_qualifying BOOLEAN);
INSERT INTO marts.fct_orders VALUES
 ('T1', 'u_0000000000000001', 'B0001', 'tmall', 'paid', '2025-04-01 10:00:00',
  '2025-04-01 10:01:00', '2025-04-01', 100.00, 1, 10.00, true, 90.00, true),
 ('T2', 'u_0000000000000003', 'B0003', 'jd', 'completed', '2025-03-02 08:59:00',
  '2025-03-02 09:00:00', '2025-03-02', 150.00, 0, 0.00, true, 150.00, true),
 ('T3', 'u_0000000000000003', 'B0003', 'jd', 'refunded', '2025-04-08 10:00:00',
  '2025-04-08 10:05:00', '2025-04-08', 80.00, 1, 80.00, true, 0.00, false),
 ('T4', 'u_0000000000000002', 'B0002', 'tmall', 'cancelled', '2025-04-09 09:00:00',
  '2025-04-09 09:01:00', '2025-04-09', 60.00, 0, 0.00, false, 0.00, false),
 ('T5', 'u_0000000000000002', 'B0002', 'tmall', 'created', '2025-04-09 11:00:00',
  NULL, NULL, 0.00, 0, 0.00, false, 0.00, false);
CREATE TABLE staging.stg_shop__orders (order_id VARCHAR, status VARCHAR, created_at TIMESTAMP,
    paid_at TIMESTAMP, paid_amount DECIMAL(18,2));
INSERT INTO staging.stg_shop__orders
    SELECT order_id, status, created_at, paid_at, paid_amount FROM marts.fct_orders;
-- an order created after the end of as_of (a later delivery): not counted
INSERT INTO staging.stg_shop__orders VALUES
 ('T9', 'paid', '2025-04-10 00:30:00', '2025-04-10 00:31:00', 500.00);
CREATE TABLE staging.stg_shop__refunds (refund_id VARCHAR, order_id VARCHAR,
    amount DECIMAL(18,2), refunded_at TIMESTAMP);
INSERT INTO staging.stg_shop__refunds VALUES
 ('R1', 'T1', 10.00, '2025-04-02 10:00:00'),
 ('R2', 'T3', 80.00, '2025-04-09 23:59:59'),
 ('R3', 'T2', 50.00, '2025-04-10 00:00:00');  -- after the end of as_of: not counted
CREATE TABLE marts.fct_inquiries (inquiry_id VARCHAR, user_id VARCHAR, staff_id VARCHAR,
    department VARCHAR, started_at TIMESTAMP, responded_at TIMESTAMP, frt_seconds DOUBLE);
INSERT INTO marts.fct_inquiries VALUES
 ('100_1', 'u_0000000000000001', 'svc_000', 'service', '2025-04-09 10:00:00',
  '2025-04-09 10:30:00', 1800),
 ('101_1', 'u_0000000000000003', 'svc_000', 'service', '2025-04-08 09:00:00', NULL, NULL);
CREATE TABLE marts.kpi_ltv_cohorts (cohort_month DATE, horizon_days INTEGER, channel VARCHAR,
    users BIGINT, avg_ltv DECIMAL(18,2), is_complete BOOLEAN);
INSERT INTO marts.kpi_ltv_cohorts VALUES
 ('2025-03-01', 30, 'all', 1, 150.00, true), ('2025-03-01', 30, 'store_qr', 1, 150.00, true),
 ('2025-03-01', 90, 'all', 1, NULL, false), ('2025-04-01', 30, 'all', 1, NULL, false);
CREATE TABLE marts.kpi_repurchase_90d (cohort_month DATE, channel VARCHAR, cohort_users BIGINT,
    matured_users BIGINT, repurchased_users BIGINT, repurchase_rate_90d DOUBLE,
    immature_users BIGINT);
INSERT INTO marts.kpi_repurchase_90d VALUES
 ('2025-01-01', 'all', 2, 2, 1, 0.5, 0), ('2025-03-01', 'all', 1, 0, 0, NULL, 1),
 ('2025-03-01', 'store_qr', 1, 0, 0, NULL, 1);
CREATE TABLE marts.kpi_response_daily (date DATE, staff_id VARCHAR, department VARCHAR,
    inquiries BIGINT, matured_2h BIGINT, answered_2h BIGINT, response_rate_2h DOUBLE,
    matured_48h BIGINT, answered_48h BIGINT, response_rate_48h DOUBLE,
    frt_p50_seconds DOUBLE, frt_p90_seconds DOUBLE);
INSERT INTO marts.kpi_response_daily VALUES
 ('2025-04-09', 'svc_000', 'service', 2, 1, 1, 1.0, 0, 0, NULL, 1800, 1800),
 ('2025-04-08', 'svc_000', 'service', 1, 1, 0, 0.0, 1, 0, 0.0, NULL, NULL);
CREATE TABLE marts.kpi_department_daily (date DATE, department VARCHAR, kpi VARCHAR,
    value DOUBLE, target DOUBLE, status VARCHAR);
INSERT INTO marts.kpi_department_daily
    SELECT DATE '2025-04-09', d, k, v, t, s FROM (VALUES
     ('new_contacts', 10, 10, 'green'), ('cac', 100, 150, 'green'),
     ('tag_completeness', 0.7, 0.8, 'yellow'), ('tagging_sla_6h', 0.9, 0.9, 'green'),
     ('content_open_rate', 0.1, 0.25, 'red'), ('one_on_one_effective_rate', NULL, 0.4, NULL),
     ('response_rate_2h', 0.96, 0.95, 'green'), ('response_rate_48h', 1.0, 0.95, 'green'),
     ('frt_p50_seconds', 600, NULL, 'no_target'), ('repurchase_rate_90d', 0.5, NULL, 'no_target'),
     ('aov', 120, 100, 'green'), ('net_revenue', 240, 300, 'red'), ('nps', 30, 20, 'green')
    ) AS k(k, v, t, s), (VALUES ('all'), ('sales')) AS d(d);
"""


def build_warehouse(path: Path) -> Path:
    con = duckdb.connect(str(path))
    con.execute(WAREHOUSE_SQL)
    con.close()
    return path


@pytest.fixture(scope="module")
def warehouse_template(tmp_path_factory) -> Path:
    return build_warehouse(tmp_path_factory.mktemp("wh_template") / "siyu.duckdb")


def warehouse_copy(tmp_path: Path, template: Path, *sql: str) -> Path:
    path = tmp_path / "siyu.duckdb"
    shutil.copy(template, path)
    if sql:
        con = duckdb.connect(str(path))
        for statement in sql:
            con.execute(statement)
        con.close()
    return path


ORDER_OF_DAY = f"rowid = (SELECT min(rowid) FROM orders WHERE _dt = DATE '{DAY}')"


def raw_day_with(tmp_path: Path, raw_template: Path, source: str, *sql: str) -> Settings:
    """A copy of the raw files with ``sql`` run in ``source``'s file."""
    s = raw_settings(tmp_path, raw_template)
    con = duckdb.connect(str(s.raw_db(source)))
    for statement in sql:
        con.execute(statement)
    con.close()
    return s


# --------------------------------------------------------------------------- report API


def test_raise_for_critical_names_expectation_table_and_observed_value(tmp_path, raw_template):
    s = raw_day_with(tmp_path, raw_template, "shop",
                     f"UPDATE orders SET order_id = NULL WHERE {ORDER_OF_DAY}",
                     # a warning: not in the message
                     f"UPDATE orders SET status = 'lost' WHERE {ORDER_OF_DAY}")
    report = Q.validate_raw_day(s, "shop", DAY, "run-42", entities=["orders"])
    assert [f.expectation for f in report.warning_failures] == [
        "expect_column_values_to_be_in_set(column=status, value_set=[created,paid,shipped,"
        "completed,cancelled,refunded])"]
    with pytest.raises(Q.QualityGateError) as err:
        report.raise_for_critical()
    message = str(err.value)
    assert "run-42" in message and "1 critical expectation(s) failed" in message
    assert f"shop.orders [{DAY}] expect_column_values_to_not_be_null(column=order_id)" in message
    assert "status" not in message
    Q.QualityReport("ok", [r for r in report.results if r.success]).raise_for_critical()


def test_the_gate_of_the_other_engines_stops_on_the_raw_batches(tmp_path, raw_template,
                                                                 monkeypatch):
    """PostgreSQL and Spark (pipeline.audit_raw): the same raw suites as the DuckDB audit, the
    results kept in <warehouse dir>/quality/dq_results.duckdb, no business warnings (they read
    DuckDB marts), a critical failure raises before the publish."""
    from siyu import pipeline

    monkeypatch.delenv("SIYU_DATA_DOCS_DIR", raising=False)
    clean = raw_settings(tmp_path / "clean", raw_template)
    summary = pipeline.audit_raw(clean, DAY, "run-clean", build_id="b1")
    store = pipeline.quality_store(clean)
    assert store == tmp_path / "clean" / "quality" / "dq_results.duckdb"
    assert summary["business_warnings"] == 0 and summary["expectations"] > 0
    con = duckdb.connect(str(store), read_only=True)
    try:
        rows = con.execute("SELECT count(*), count(DISTINCT build_id), min(build_id), "
                           "bool_and(success) FROM ops.dq_results").fetchone()
    finally:
        con.close()
    assert rows == (summary["expectations"], 1, "b1", True)
    assert (tmp_path / "clean" / "quality" / "data_docs" / "index.html").is_file()

    bad = raw_day_with(tmp_path / "bad", raw_template, "shop",
                       f"UPDATE orders SET order_id = NULL WHERE {ORDER_OF_DAY}")
    with pytest.raises(pipeline.PipelineError, match=r"quality gate failed.*\n.*"
                       r"shop\.orders .*expect_column_values_to_not_be_null\(column=order_id\)"):
        pipeline.audit_raw(bad, DAY, "run-bad")


def test_the_raw_validation_started_beside_the_build_gates_as_before(tmp_path, raw_template,
                                                                     monkeypatch):
    """`siyu run` starts the raw batches' validation when dbt starts building
    (pipeline.start_raw_validation, a thread) and the audit takes its result: the same
    expectations, and a critical failure still stops the run before the publish."""
    from siyu import pipeline

    monkeypatch.delenv("SIYU_DATA_DOCS_DIR", raising=False)
    assert pipeline.start_raw_validation(raw_settings(tmp_path / "none", raw_template), None,
                                         "run-none") is None
    clean = raw_settings(tmp_path / "clean", raw_template)
    started = pipeline.start_raw_validation(clean, DAY, "run-clean")
    reports = started.result(timeout=120)
    assert [sorted({r.table.split(".")[0] for r in report.results}) for report in reports] == [
        ["crm"], ["shop"], ["community"]]
    here = pipeline.audit_raw(clean, DAY, "run-here")
    beside = pipeline.audit_raw(clean, DAY, "run-clean", raw=started)
    assert beside["expectations"] == here["expectations"] > 0

    bad = raw_day_with(tmp_path / "bad", raw_template, "shop",
                       f"UPDATE orders SET order_id = NULL WHERE {ORDER_OF_DAY}")
    with pytest.raises(pipeline.PipelineError, match=r"quality gate failed.*\n.*"
                       r"shop\.orders .*expect_column_values_to_not_be_null\(column=order_id\)"):
        pipeline.audit_raw(bad, DAY, "run-bad",
                           raw=pipeline.start_raw_validation(bad, DAY, "run-bad"))


def test_store_appends_results_and_warnings_idempotently(tmp_path, raw_template,
                                                         warehouse_template):
    s = raw_settings(tmp_path, raw_template)
    report = Q.validate_raw_day(s, "shop", DAY, "run-s")
    report.warnings = Q.business_warnings(warehouse_copy(tmp_path, warehouse_template), DAY)
    report.build_id = "build-s"  # the build the results audited
    ops = tmp_path / "ops" / "ops.duckdb"
    assert report.store(ops) == len(report.results) + len(report.warnings)
    report.store(ops)  # a retried task replaces its rows
    Q.QualityReport("run-t", [replace(r, run_id="run-t") for r in report.results[:2]]).store(ops)
    con = duckdb.connect(str(ops), read_only=True)
    rows = con.execute("SELECT run_id, count(*), count(*) FILTER (WHERE success)"
                       " FROM ops.ops.dq_results GROUP BY 1 ORDER BY 1").fetchall()
    assert rows == [("run-s", len(report.results), len(report.results)), ("run-t", 2, 2)]
    cols = [r[0] for r in con.execute("DESCRIBE ops.ops.dq_results").fetchall()]
    assert cols == ["run_id", "suite", "table_name", "batch", "expectation", "severity",
                    "success", "observed_value", "checked_at", "build_id"]
    assert con.execute("SELECT DISTINCT run_id, build_id FROM ops.ops.dq_results ORDER BY 1"
                       ).fetchall() == [("run-s", "build-s"), ("run-t", None)]
    assert con.execute("SELECT DISTINCT build_id FROM ops.ops.dq_warnings").fetchall() == [
        ("build-s",)]
    assert con.execute("SELECT count(*) FROM ops.ops.dq_warnings WHERE run_id = 'run-s'"
                       ).fetchone()[0] == len(report.warnings) > 0
    con.close()


def test_data_docs_index_is_written(tmp_path, raw_template):
    s = raw_day_with(tmp_path, raw_template, "shop",
                     f"UPDATE orders SET status = 'lost' WHERE {ORDER_OF_DAY}")
    report = Q.validate_raw_day(s, "shop", DAY, "run-d")
    index = Q.build_data_docs(tmp_path / "quality" / "docs", [report])
    assert index == (tmp_path / "quality" / "docs" / "index.html").resolve()
    html = index.read_text()
    assert "raw.shop.orders" in html and "raw.shop.refunds" in html
    pages = list((index.parent / "validations").rglob("*.html"))
    assert len(pages) == len(C.entities_of("shop"))
    assert (tmp_path / "quality" / "gx" / "great_expectations.yml").exists()


# --------------------------------------------------------------------------- business warnings


def test_volume_drop_boundary_is_exactly_twenty_percent():
    assert Q.is_volume_drop(10, 8) and Q.is_volume_drop(100, 80) and Q.is_volume_drop(5, 0)
    assert not Q.is_volume_drop(100, 81) and not Q.is_volume_drop(10, 9)
    assert not Q.is_volume_drop(0, 0) and not Q.is_volume_drop(10, 12)


def test_the_volume_drop_threshold_comes_from_the_settings(monkeypatch):
    monkeypatch.delenv("SIYU_VOLUME_DROP_THRESHOLD", raising=False)
    assert Q.volume_drop_threshold() == Fraction(1, 5)
    monkeypatch.setenv("SIYU_VOLUME_DROP_THRESHOLD", "0.35")
    assert not Q.is_volume_drop(100, 66) and Q.is_volume_drop(100, 65)  # -34% no, -35% yes
    monkeypatch.setenv("SIYU_VOLUME_DROP_THRESHOLD", "50%")
    assert Q.volume_drop_threshold() == Fraction(1, 2)
    assert not Q.is_volume_drop(10, 6) and Q.is_volume_drop(10, 5)
    for bad in ("0", "1", "1.5", "-0.2", "a lot"):
        monkeypatch.setenv("SIYU_VOLUME_DROP_THRESHOLD", bad)
        with pytest.raises(ValueError, match="SIYU_VOLUME_DROP_THRESHOLD"):
            Q.volume_drop_threshold()


def test_business_warnings_red_yellow_kpis_and_day_over_day_drops(tmp_path):
    wh = build_warehouse(tmp_path / "siyu.duckdb")
    con = duckdb.connect(str(wh))

    def rows(table: str, column: str, day: date, n: int, extra: str = "") -> None:
        con.execute(f"INSERT INTO {table} ({column}{extra and ', is_revoked, is_bot'})"
                    f" SELECT TIMESTAMP '{day} 10:00:00' + INTERVAL (i) MINUTE{extra}"
                    f" FROM range({n}) t(i)")

    con.execute("CREATE TABLE staging.stg_crm__contacts (contact_id VARCHAR, created_at TIMESTAMP)")
    con.execute("CREATE TABLE staging.stg_community__messages (msgid VARCHAR, sent_at TIMESTAMP,"
                " is_revoked BOOLEAN, is_bot BOOLEAN)")
    con.execute("DELETE FROM marts.fct_orders")
    rows("staging.stg_crm__contacts", "created_at", PREV, 10)
    rows("staging.stg_crm__contacts", "created_at", DAY, 8)  # -20%: warns
    rows("marts.fct_orders", "created_at", PREV, 100)
    rows("marts.fct_orders", "created_at", DAY, 81)  # -19%: does not
    rows("staging.stg_community__messages", "sent_at", PREV, 10, ", false, false")
    rows("staging.stg_community__messages", "sent_at", DAY, 8, ", false, false")
    rows("staging.stg_community__messages", "sent_at", DAY, 5, ", true, false")  # revoked
    rows("staging.stg_community__messages", "sent_at", DAY - timedelta(days=2), 1,
         ", false, false")
    con.close()
    warnings = Q.business_warnings(wh, DAY)
    drops = {w.metric: w for w in warnings if w.kind == "volume_drop"}
    assert set(drops) == {"new_contacts", "messages"}
    assert (drops["new_contacts"].value, drops["new_contacts"].reference) == (8, 10)
    assert drops["new_contacts"].message == "new_contacts on 2025-04-09: 8 vs 10 the day before (-20%)"
    statuses = sorted((w.department, w.metric, w.status, w.value, w.reference)
                      for w in warnings if w.kind == "kpi_status")
    assert statuses == sorted(
        (d, k, s, v, t) for d in ("all", "sales") for k, s, v, t in (
            ("tag_completeness", "yellow", 0.7, 0.8), ("content_open_rate", "red", 0.1, 0.25),
            ("net_revenue", "red", 240, 300)))
    assert [w.status for w in warnings if w.kind == "kpi_status"][:4] == ["red"] * 4
    assert Q.business_warnings(wh, DAY - timedelta(days=5)) == []
    # a team that only wants to hear of drops of a quarter or more: -20% no longer warns
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SIYU_VOLUME_DROP_THRESHOLD", "0.25")
        assert [w for w in Q.business_warnings(wh, DAY) if w.kind == "volume_drop"] == []
        mp.setenv("SIYU_VOLUME_DROP_THRESHOLD", "0.19")  # now the orders' -19% warns too
        assert {w.metric for w in Q.business_warnings(wh, DAY) if w.kind == "volume_drop"} \
            == {"new_contacts", "orders", "messages"}


# --------------------------------------------------------------------------- suites vs contract


def test_suites_follow_the_contract_and_kpis():
    for e in C.ENTITIES:
        suite = SUITES[Q.raw_suite_name(e.source, e.name)]
        assert suite.kind == "raw" and suite.source == e.source and suite.table == e.table
        specs = suite.expectations
        column_set = next(s["kwargs"]["column_set"] for s in specs
                          if s["type"] == "expect_table_columns_to_match_set")
        assert column_set == [*e.columns, *C.LINEAGE_COLUMNS]
        not_null = {s["kwargs"]["column"]: s["severity"] for s in specs
                    if s["type"] == "expect_column_values_to_not_be_null"
                    and "row_condition" not in s["kwargs"]}
        for f in e.fields:
            if f.name in e.key:
                assert not_null[f.name] == Q.CRITICAL, (e.path, f.name)
            elif f.required:
                assert not_null[f.name] == Q.WARNING, (e.path, f.name)
            if f.enum:
                assert any(s["type"] == "expect_column_values_to_be_in_set"
                           and s["kwargs"] == {"column": f.name, "value_set": list(f.enum)}
                           for s in specs), (e.path, f.name)
    # one home per check: the marts' rules are dbt tests (tests/test_dbt_mart_tests.py)
    assert {s.kind for s in SUITES.values()} == {"raw"}
    assert len(SUITES) == len(C.ENTITIES)
    assert all(spec["severity"] in Q.SEVERITIES
               for s in SUITES.values() for spec in s.expectations)


# --------------------------------------------------------------------------- real pipeline


@pytest.fixture(scope="module")
def real_warehouse(published_landing) -> tuple[Settings, date]:
    """The session's published warehouse (`siyu run` on a generated landing), read only."""
    landing, manifest, warehouse = published_landing
    settings = Settings.from_env(landing_root=landing, warehouse=warehouse,
                                 raw_dir=warehouse.parent / "siyu_raw")
    return settings, date.fromisoformat(manifest["as_of"])


def test_real_warehouse_passes_every_critical_check(real_warehouse, tmp_path):
    settings, as_of = real_warehouse
    report = Q.QualityReport("run-e2e")
    for source in C.SOURCES:
        raw = Q.validate_raw_day(settings, source, as_of, "run-e2e")
        assert raw.critical_failures == [], [(f.table, f.expectation, f.observed_value)
                                             for f in raw.critical_failures]
        assert any(r.expectation.startswith("expect_table_row_count") for r in raw.results)
        report.extend(raw)
    report.warnings = Q.business_warnings(settings.warehouse, as_of)
    report.raise_for_critical()
    report.store(tmp_path / "ops.duckdb")
    assert Q.build_data_docs(tmp_path / "docs", [report]).exists()


def test_great_expectations_imports_where_the_main_module_has_no_file():
    """pyspark (the Spark target) is installed, and GX imports its Spark Connect classes;
    without the `connect` extra's packages pyspark calls sys.exit(0) on that import in a
    process whose __main__ has no file (pytest-xdist workers, `python -c`), which ended
    `make test` at collection. With pyspark[connect] the import works everywhere."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", "from siyu import quality; import great_expectations; "
         "print('imported')"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == "imported", proc.stderr[-2000:]
    assert "does not yet fully support pandas" not in proc.stderr
