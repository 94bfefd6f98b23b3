"""Data-quality gates (include/siyu/quality.py, expectations/*.json).

Tiny hand-made DuckDB files: raw tables (contract columns + lineage) and a warehouse with the
published marts and the staging tables the reconciliations and business warnings read.
Every critical expectation of every suite is violated once, by one bad row, and the report
must list exactly that expectation as failed (a few checks fail together by construction,
listed in ``also``). The last tests run the real pipeline on a small generated landing zone
and validate what it built.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
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


def one(table: str, where: str = "true") -> str:
    return f"rowid = (SELECT min(rowid) FROM marts.{table} WHERE {where})"


def upd(table: str, assignment: str, where: str = "true") -> str:
    return f"UPDATE marts.{table} SET {assignment} WHERE {one(table, where)}"


def dup(table: str, *cols: str) -> str:
    """The second row takes the first row's values of ``cols``."""
    sets = ", ".join(f"{c} = (SELECT {c} FROM marts.{table} WHERE {one(table)})" for c in cols)
    return (f"UPDATE marts.{table} SET {sets} WHERE rowid = (SELECT min(rowid) FROM"
            f" marts.{table} WHERE NOT ({one(table)}))")


NN = "expect_column_values_to_not_be_null"
BETWEEN = "expect_column_values_to_be_between"
PAIR = "expect_column_pair_values_a_to_be_greater_than_b"
PAIR_ARGS = "ignore_row_if=either_value_is_missing, or_equal=true"
COLS = "expect_table_columns_to_match_set"
ROWS = "expect_table_row_count_to_be_between(min_value=1)"
USER_RE = "expect_column_values_to_match_regex(column=user_id, regex=^u_[0-9a-f]{16}$)"


def pair(a: str, b: str) -> str:
    return f"{PAIR}(column_A={a}, column_B={b}, {PAIR_ARGS})"


# (mart, label) -> (SQL making one bad row, labels that fail with it by construction)
MART_CASES: dict[tuple[str, str], tuple[list[str], set[str]]] = {}


def case(mart: str, label: str, *sql: str, also: tuple[str, ...] = ()) -> None:
    MART_CASES[(mart, label)] = (list(sql), set(also))


def _columns_label(mart: str) -> str:
    return next(lbl for lbl in SUITES[f"marts.{mart}"].labels() if lbl.startswith(COLS))


m = "dim_users"
case(m, _columns_label(m), "ALTER TABLE marts.dim_users DROP COLUMN owner_staff_id")
case(m, ROWS, "DELETE FROM marts.dim_users")
case(m, f"{NN}(column=user_id)", upd(m, "user_id = NULL"))
case(m, "expect_column_values_to_be_unique(column=user_id)", dup(m, "user_id"))
case(m, USER_RE, upd(m, "user_id = 'user-1'"))
case(m, f"{NN}(column=source_channel)", upd(m, "source_channel = NULL"))
case(m, f"{NN}(column=is_active_contact)", upd(m, "is_active_contact = NULL"))
case(m, f"{NN}(column=qualifying_purchases)", upd(m, "qualifying_purchases = NULL"))
case(m, f"{BETWEEN}(column=qualifying_purchases, min_value=0)",
     upd(m, "qualifying_purchases = -1"))
case(m, f"{NN}(column=ltv)", upd(m, "ltv = NULL"))
case(m, f"{BETWEEN}(column=ltv, min_value=0)", upd(m, "ltv = -1"))
case(m, f"{NN}(column=lifecycle_stage)", upd(m, "lifecycle_stage = NULL"))
case(m, "expect_column_values_to_be_in_set(column=lifecycle_stage,"
        " value_set=[high_value,new,churn_risk,silent,active])", upd(m, "lifecycle_stage = 'vip'"))
for c in ("rfm_r", "rfm_f", "rfm_m"):
    case(m, f"{BETWEEN}(column={c}, max_value=5, min_value=1)", upd(m, f"{c} = 6"))
case(m, f"{NN}(column=first_purchase_at) where qualifying_purchases > 0",
     upd(m, "first_purchase_at = NULL", "qualifying_purchases > 0"))
case(m, f"{NN}(column=first_seen_at) where is_active_contact == true",
     upd(m, "first_seen_at = NULL", "is_active_contact"))
case(m, pair("first_purchase_at", "first_seen_at"),
     upd(m, "first_seen_at = first_purchase_at + INTERVAL 1 HOUR", "first_purchase_at IS NOT NULL"))

m = "dim_user_identifiers"
case(m, _columns_label(m), "ALTER TABLE marts.dim_user_identifiers DROP COLUMN user_id",
     also=(f"{NN}(column=user_id)", USER_RE))
case(m, ROWS, "DELETE FROM marts.dim_user_identifiers")
case(m, f"{NN}(column=identifier_type)", upd(m, "identifier_type = NULL"))
case(m, "expect_column_values_to_be_in_set(column=identifier_type, value_set=[contact_id,"
        "external_userid,unionid,phone,email,buyer_id])", upd(m, "identifier_type = 'fax'"))
case(m, f"{NN}(column=identifier_value)", upd(m, "identifier_value = NULL"))
case(m, f"{NN}(column=user_id)", upd(m, "user_id = NULL"))
case(m, USER_RE, upd(m, "user_id = 'U1'"))
case(m, "expect_compound_columns_to_be_unique(column_list=[identifier_type,identifier_value])",
     dup(m, "identifier_type", "identifier_value"))
# a phone or e-mail in the clear is the violation: they leave the raw layer only hashed
case(m, "expect_column_values_to_match_regex(column=identifier_value, regex=^[0-9a-f]{64}$)"
        " where identifier_type == phone",
     upd(m, "identifier_value = '13800138000'", "identifier_type = 'phone'"))
case(m, "expect_column_values_to_match_regex(column=identifier_value, regex=^[0-9a-f]{64}$)"
        " where identifier_type == email",
     upd(m, "identifier_value = 'zhang@example.com'", "identifier_type = 'email'"))

m = "fct_orders"
case(m, _columns_label(m), "ALTER TABLE marts.fct_orders DROP COLUMN channel",
     also=())
case(m, ROWS, "DELETE FROM marts.fct_orders")
case(m, f"{NN}(column=order_id)", upd(m, "order_id = NULL"))
case(m, "expect_column_values_to_be_unique(column=order_id)", dup(m, "order_id"))
case(m, f"{NN}(column=user_id)", upd(m, "user_id = NULL"))
case(m, USER_RE, upd(m, "user_id = 'B0001'"))
case(m, f"{NN}(column=status)", upd(m, "status = NULL"))
case(m, "expect_column_values_to_be_in_set(column=status, value_set=[created,paid,shipped,"
        "completed,cancelled,refunded])", upd(m, "status = 'lost'"))
case(m, f"{BETWEEN}(column=paid_amount, min_value=0)", upd(m, "paid_amount = -1"),
     also=(pair("paid_amount", "net_revenue"),))  # -1 < any net revenue >= 0
case(m, f"{NN}(column=refunded_amount)", upd(m, "refunded_amount = NULL"))
case(m, f"{BETWEEN}(column=refunded_amount, min_value=0)", upd(m, "refunded_amount = -1"))
case(m, f"{NN}(column=net_revenue)", upd(m, "net_revenue = NULL"))
case(m, f"{BETWEEN}(column=net_revenue, min_value=0)",
     upd(m, "net_revenue = -1", "is_paid AND NOT is_qualifying"))
case(m, pair("paid_amount", "net_revenue"), upd(m, "net_revenue = paid_amount + 1", "is_qualifying"))
case(m, f"{NN}(column=is_qualifying)", upd(m, "is_qualifying = NULL"))
case(m, f"{NN}(column=paid_at) where is_paid == true", upd(m, "paid_at = NULL", "is_paid"))
case(m, f"{NN}(column=order_date) where is_paid == true", upd(m, "order_date = NULL", "is_paid"))
case(m, f"{BETWEEN}(column=net_revenue, max_value=0, min_value=0) where is_paid == false",
     upd(m, "net_revenue = 10", "NOT is_paid AND paid_amount >= 10"))
case(m, f"{BETWEEN}(column=net_revenue, min_value=0.01) where is_qualifying == true",
     upd(m, "net_revenue = 0", "is_qualifying"))

m = "fct_inquiries"
case(m, _columns_label(m), "ALTER TABLE marts.fct_inquiries DROP COLUMN department")
case(m, f"{NN}(column=inquiry_id)", upd(m, "inquiry_id = NULL"))
case(m, "expect_column_values_to_be_unique(column=inquiry_id)", dup(m, "inquiry_id"))
case(m, f"{NN}(column=user_id)", upd(m, "user_id = NULL"))
case(m, USER_RE, upd(m, "user_id = 'wm001'"))
case(m, f"{NN}(column=staff_id)", upd(m, "staff_id = NULL"))
case(m, f"{NN}(column=started_at)", upd(m, "started_at = NULL"))
case(m, f"{BETWEEN}(column=frt_seconds, min_value=0)",
     upd(m, "frt_seconds = -5", "frt_seconds IS NOT NULL"))
case(m, pair("responded_at", "started_at"),
     upd(m, "responded_at = started_at - INTERVAL 1 MINUTE", "responded_at IS NOT NULL"))
case(m, f"{NN}(column=frt_seconds) where responded_at is not null",
     upd(m, "frt_seconds = NULL", "responded_at IS NOT NULL"))

m = "kpi_ltv_cohorts"
case(m, _columns_label(m), "ALTER TABLE marts.kpi_ltv_cohorts DROP COLUMN users",
     also=(f"{NN}(column=users)", f"{BETWEEN}(column=users, min_value=1)"))
case(m, f"{NN}(column=cohort_month)", upd(m, "cohort_month = NULL"))
case(m, "expect_column_values_to_be_in_set(column=_cohort_day, value_set=[1])",
     upd(m, "cohort_month = DATE '2025-03-02'"))
case(m, f"{NN}(column=horizon_days)", upd(m, "horizon_days = NULL"))
case(m, "expect_column_values_to_be_in_set(column=horizon_days, value_set=[30,90,180,365])",
     upd(m, "horizon_days = 60"))
case(m, f"{NN}(column=channel)", upd(m, "channel = NULL", "channel <> 'all'"))
case(m, "expect_compound_columns_to_be_unique(column_list=[cohort_month,horizon_days,channel])",
     dup(m, "cohort_month", "horizon_days", "channel"))
case(m, "expect_column_distinct_values_to_contain_set(column=channel, value_set=[all])",
     "UPDATE marts.kpi_ltv_cohorts SET channel = 'store_qr' || cast(rowid AS VARCHAR)"
     " WHERE channel = 'all'")
case(m, f"{NN}(column=users)", upd(m, "users = NULL"))
case(m, f"{BETWEEN}(column=users, min_value=1)", upd(m, "users = 0"))
case(m, f"{BETWEEN}(column=avg_ltv, min_value=0)", upd(m, "avg_ltv = -1", "is_complete"))
case(m, f"{NN}(column=is_complete)", upd(m, "is_complete = NULL"))
case(m, "expect_column_values_to_be_null(column=avg_ltv) where is_complete == false",
     upd(m, "avg_ltv = 10", "NOT is_complete"))
case(m, f"{NN}(column=avg_ltv) where is_complete == true", upd(m, "avg_ltv = NULL", "is_complete"))

m = "kpi_repurchase_90d"
case(m, _columns_label(m), "ALTER TABLE marts.kpi_repurchase_90d DROP COLUMN immature_users",
     also=(f"{NN}(column=immature_users)", f"{BETWEEN}(column=immature_users, min_value=0)"))
case(m, f"{NN}(column=cohort_month)", upd(m, "cohort_month = NULL"))
case(m, "expect_column_values_to_be_in_set(column=_cohort_day, value_set=[1])",
     upd(m, "cohort_month = DATE '2025-01-31'"))
case(m, f"{NN}(column=channel)", upd(m, "channel = NULL"))
case(m, "expect_compound_columns_to_be_unique(column_list=[cohort_month,channel])",
     upd(m, "channel = 'all'", "channel = 'store_qr'"))
for c in ("matured_users", "repurchased_users", "immature_users"):
    case(m, f"{NN}(column={c})", upd(m, f"{c} = NULL"))
case(m, f"{BETWEEN}(column=matured_users, min_value=0)", upd(m, "matured_users = -1"),
     also=(pair("matured_users", "repurchased_users"),))  # -1 < any repurchased >= 0
case(m, f"{BETWEEN}(column=repurchased_users, min_value=0)", upd(m, "repurchased_users = -1"))
case(m, f"{BETWEEN}(column=immature_users, min_value=0)", upd(m, "immature_users = -1"))
case(m, pair("matured_users", "repurchased_users"),
     upd(m, "repurchased_users = matured_users + 1"))
case(m, f"{BETWEEN}(column=repurchase_rate_90d, max_value=1, min_value=0)",
     upd(m, "repurchase_rate_90d = 1.5", "matured_users > 0"))
case(m, "expect_column_values_to_be_null(column=repurchase_rate_90d) where matured_users == 0",
     upd(m, "repurchase_rate_90d = 0", "matured_users = 0"))

m = "kpi_response_daily"
case(m, _columns_label(m), "ALTER TABLE marts.kpi_response_daily DROP COLUMN department")
case(m, f"{NN}(column=date)", upd(m, "date = NULL"))
case(m, f"{NN}(column=staff_id)", upd(m, "staff_id = NULL"))
case(m, "expect_compound_columns_to_be_unique(column_list=[date,staff_id])", dup(m, "date"))
case(m, f"{BETWEEN}(column=inquiries, min_value=0)", upd(m, "inquiries = -1"),
     also=(pair("inquiries", "matured_2h"), pair("inquiries", "matured_48h")))
case(m, f"{BETWEEN}(column=matured_2h, min_value=0)", upd(m, "matured_2h = -1"),
     also=(pair("matured_2h", "answered_2h"),))
case(m, f"{BETWEEN}(column=answered_2h, min_value=0)", upd(m, "answered_2h = -1"))
case(m, f"{BETWEEN}(column=matured_48h, min_value=0)", upd(m, "matured_48h = -1"),
     also=(pair("matured_48h", "answered_48h"),))
case(m, f"{BETWEEN}(column=answered_48h, min_value=0)", upd(m, "answered_48h = -1"))
case(m, pair("inquiries", "matured_2h"), upd(m, "inquiries = 0", "matured_2h > 0"))
case(m, pair("matured_2h", "answered_2h"), upd(m, "answered_2h = matured_2h + 1"))
case(m, pair("inquiries", "matured_48h"), upd(m, "matured_48h = inquiries + 1"))
case(m, pair("matured_48h", "answered_48h"), upd(m, "answered_48h = matured_48h + 1"))
case(m, f"{BETWEEN}(column=response_rate_2h, max_value=1, min_value=0)",
     upd(m, "response_rate_2h = 1.01"))
case(m, f"{BETWEEN}(column=response_rate_48h, max_value=1, min_value=0)",
     upd(m, "response_rate_48h = -0.1", "response_rate_48h IS NOT NULL"))
case(m, f"{BETWEEN}(column=frt_p50_seconds, min_value=0)",
     upd(m, "frt_p50_seconds = -1", "frt_p50_seconds IS NOT NULL"))
case(m, pair("frt_p90_seconds", "frt_p50_seconds"),
     upd(m, "frt_p90_seconds = frt_p50_seconds - 1", "frt_p50_seconds IS NOT NULL"))

m = "kpi_department_daily"
case(m, _columns_label(m), "ALTER TABLE marts.kpi_department_daily DROP COLUMN target")
case(m, ROWS, "DELETE FROM marts.kpi_department_daily",
     also=tuple(lbl for lbl in SUITES["marts.kpi_department_daily"].labels()
                if lbl.startswith("expect_column_distinct_values_to_contain_set")))
case(m, f"{NN}(column=date)", upd(m, "date = NULL"))
case(m, f"{NN}(column=department)", upd(m, "department = NULL", "department = 'sales'"))
case(m, f"{NN}(column=kpi)", upd(m, "kpi = NULL", "department = 'sales'"))
case(m, "expect_compound_columns_to_be_unique(column_list=[date,department,kpi])",
     upd(m, "department = 'all'", "department = 'sales'"))
case(m, next(lbl for lbl in SUITES["marts.kpi_department_daily"].labels()
             if lbl.startswith("expect_column_distinct_values_to_contain_set(column=kpi")),
     "DELETE FROM marts.kpi_department_daily WHERE kpi = 'nps'")
case(m, "expect_column_distinct_values_to_contain_set(column=department, value_set=[all])",
     "DELETE FROM marts.kpi_department_daily WHERE department = 'all'")
case(m, "expect_column_values_to_be_in_set(column=status, value_set=[green,yellow,red,"
        "no_target])", upd(m, "status = 'amber'"))
case(m, f"{NN}(column=status) where value is not null",
     upd(m, "status = NULL", "value IS NOT NULL"))
case(m, next(lbl for lbl in SUITES["marts.kpi_department_daily"].labels()
             if "max_value=1, min_value=0) where kpi IN" in lbl),
     upd(m, "value = 1.2", "kpi = 'tag_completeness'"))
case(m, f"{BETWEEN}(column=value, max_value=100, min_value=-100) where kpi == nps",
     upd(m, "value = 101", "kpi = 'nps'"))
case(m, next(lbl for lbl in SUITES["marts.kpi_department_daily"].labels()
             if "(column=value, min_value=0) where kpi IN" in lbl),
     upd(m, "value = -3", "kpi = 'net_revenue'"))

MART_PARAMS = [
    pytest.param(mart, label, id=f"{mart}:{i}")
    for mart in Q.PUBLISHED_MARTS
    for i, label in enumerate(SUITES[f"marts.{mart}"].labels())
    if label in SUITES[f"marts.{mart}"].critical_labels()
]


def test_every_critical_expectation_has_a_hand_made_violation():
    assert {(m, lbl) for m, lbl in MART_CASES} == {p.values for p in MART_PARAMS}
    for e in C.ENTITIES:  # raw: the generic violations cover every critical expectation
        for spec in SUITES[Q.raw_suite_name(e.source, e.name)].expectations:
            if spec["severity"] == Q.CRITICAL:
                _raw_mutation(e, spec)


def test_clean_warehouse_passes_every_check(tmp_path, warehouse_template):
    wh = warehouse_copy(tmp_path, warehouse_template)
    report = Q.validate_marts(wh, "run-clean", DAY)
    assert report.failures == [], [(f.table, f.expectation, f.observed_value)
                                   for f in report.failures]
    assert {r.table for r in report.results} == {
        *(f"marts.{m}" for m in Q.PUBLISHED_MARTS), "reconciliation"}
    # without as_of the warehouse's own (marts.dim_dates) is used
    assert Q.validate_marts(wh, "run-clean", None, marts=["kpi_department_daily"]).failures == []


@pytest.mark.parametrize("mart,label", MART_PARAMS)
def test_mart_suite_catches_each_critical_violation(tmp_path, warehouse_template, mart, label):
    sql, also = MART_CASES[(mart, label)]
    wh = warehouse_copy(tmp_path, warehouse_template, *sql)
    report = Q.validate_marts(wh, "run-x", DAY, marts=[mart], reconcile=False)
    failed = {f.expectation for f in report.critical_failures}
    assert failed == {label} | also
    assert all(f.table == f"marts.{mart}" and f.batch == "all" for f in report.critical_failures)


def test_a_missing_column_fails_its_checks_instead_of_aborting(tmp_path, warehouse_template):
    wh = warehouse_copy(tmp_path, warehouse_template,
                        "ALTER TABLE marts.fct_inquiries DROP COLUMN staff_id")
    report = Q.validate_marts(wh, "run-m", DAY, marts=["fct_inquiries", "fct_inquiries"],
                              reconcile=False)
    failed = {f.expectation: f.observed_value for f in report.critical_failures}
    assert failed[f"{NN}(column=staff_id)"] == (
        'error: Error: The column "staff_id" in BatchData does not exist.')
    assert len(report.results) == 2 * len(SUITES["marts.fct_inquiries"].expectations)


# --------------------------------------------------------------------------- reconciliations


def _recon_failures(report: Q.QualityReport) -> dict[str, str]:
    return {f.expectation.split("column=")[1].split(",")[0]: f.observed_value
            for f in report.critical_failures if f.suite == Q.RECONCILIATION_SUITE}


def test_net_revenue_off_by_one_yuan_fails_the_reconciliations(tmp_path, warehouse_template):
    wh = warehouse_copy(tmp_path, warehouse_template,
                        upd("fct_orders", "net_revenue = net_revenue + 1.00", "order_id = 'T1'"))
    report = Q.validate_marts(wh, "run-r", DAY)
    failures = _recon_failures(report)
    assert set(failures) == {"net_revenue_vs_staging_diff", "ltv_vs_orders_diff"}
    assert failures["net_revenue_vs_staging_diff"] == (
        "1 (fct_net_revenue=241, staging_net_revenue=240)")
    assert failures["ltv_vs_orders_diff"] == "-1 (dim_users_ltv=240, paid_net_revenue=241)"
    assert {f.suite for f in report.critical_failures} == {Q.RECONCILIATION_SUITE}


def test_staging_recomputation_alone_detects_a_revenue_gap(tmp_path, warehouse_template):
    wh = warehouse_copy(tmp_path, warehouse_template,
                        "UPDATE staging.stg_shop__orders SET paid_amount = paid_amount + 1"
                        " WHERE order_id = 'T2'")
    failures = _recon_failures(Q.validate_marts(wh, "run-r", DAY))
    assert failures == {
        "net_revenue_vs_staging_diff": "-1 (fct_net_revenue=240, staging_net_revenue=241)"}


def test_refunds_after_the_end_of_as_of_do_not_count(tmp_path, warehouse_template):
    wh = warehouse_copy(tmp_path, warehouse_template)
    con = duckdb.connect(str(wh), read_only=True)
    # R3 (2025-04-10 00:00) counts as of the 10th, not as of the 9th; T9 likewise
    assert float(Q.reconciliation_frame(con, DAY)["staging_net_revenue"][0]) == 240
    assert float(Q.reconciliation_frame(con, DAY + timedelta(days=1))
                 ["staging_net_revenue"][0]) == 240 - 50 + 500
    con.close()


def test_orphan_order_fails_the_reconciliation(tmp_path, warehouse_template):
    wh = warehouse_copy(tmp_path, warehouse_template,
                        upd("fct_orders", "user_id = 'u_00000000000000ff'", "order_id = 'T2'"))
    report = Q.validate_marts(wh, "run-r", DAY)
    assert _recon_failures(report) == {"orphan_orders": "1"}


# --------------------------------------------------------------------------- report API


def test_raise_for_critical_names_expectation_table_and_observed_value(
        tmp_path, warehouse_template):
    wh = warehouse_copy(tmp_path, warehouse_template,
                        upd("fct_orders", "status = 'lost'"),
                        upd("fct_orders", "channel = NULL"))  # a warning: not in the message
    report = Q.validate_marts(wh, "run-42", DAY, marts=["fct_orders"], reconcile=False)
    assert len(report.warning_failures) == 1
    with pytest.raises(Q.QualityGateError) as err:
        report.raise_for_critical()
    message = str(err.value)
    assert "run-42" in message and "1 critical expectation(s) failed" in message
    assert ("marts.fct_orders [all] expect_column_values_to_be_in_set(column=status,"
            in message)
    assert "observed 1 of 5 unexpected (20%); unknown values [lost]" in message
    assert "channel" not in message
    Q.QualityReport("ok", [r for r in report.results if r.success]).raise_for_critical()


def test_store_appends_results_and_warnings_idempotently(tmp_path, warehouse_template):
    wh = warehouse_copy(tmp_path, warehouse_template)
    report = Q.validate_marts(wh, "run-s", DAY, marts=["fct_orders", "dim_users"])
    report.warnings = Q.business_warnings(wh, DAY)
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


def test_data_docs_index_is_written(tmp_path, warehouse_template):
    wh = warehouse_copy(tmp_path, warehouse_template, upd("fct_orders", "status = 'lost'"))
    report = Q.validate_marts(wh, "run-d", DAY, marts=["fct_orders", "kpi_ltv_cohorts"])
    index = Q.build_data_docs(tmp_path / "quality" / "docs", [report])
    assert index == (tmp_path / "quality" / "docs" / "index.html").resolve()
    html = index.read_text()
    assert "marts.fct_orders" in html and "reconciliation.marts" in html
    pages = list((index.parent / "validations").rglob("*.html"))
    assert len(pages) == 3
    assert (tmp_path / "quality" / "gx" / "great_expectations.yml").exists()


# --------------------------------------------------------------------------- business warnings


def test_volume_drop_boundary_is_exactly_twenty_percent():
    assert Q.is_volume_drop(10, 8) and Q.is_volume_drop(100, 80) and Q.is_volume_drop(5, 0)
    assert not Q.is_volume_drop(100, 81) and not Q.is_volume_drop(10, 9)
    assert not Q.is_volume_drop(0, 0) and not Q.is_volume_drop(10, 12)


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
    assert {n for n, s in SUITES.items() if s.kind == "mart"} == {
        Q.mart_suite_name(m) for m in Q.PUBLISHED_MARTS}
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
    t0 = time.perf_counter()
    marts = Q.validate_marts(settings.warehouse, "run-e2e", as_of)
    seconds = time.perf_counter() - t0
    print(f"\nvalidate_marts on the small warehouse: {seconds:.2f}s, {marts.summary()}")
    assert marts.critical_failures == [], [(f.table, f.expectation, f.observed_value)
                                           for f in marts.critical_failures]
    assert {r.table for r in marts.results} >= {f"marts.{m}" for m in Q.PUBLISHED_MARTS}
    report = Q.QualityReport("run-e2e").extend(marts)
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


# --------------------------------------------------------------------------- marts in chunks


def test_every_mart_expectation_type_has_a_chunked_evaluation():
    used = {s["type"] for m in Q.PUBLISHED_MARTS for s in SUITES[f"marts.{m}"].expectations}
    assert used <= set(Q.CHUNKED), used - set(Q.CHUNKED)


def _key(report: Q.QualityReport) -> list[tuple[str, str, bool, str]]:
    return [(r.table, r.expectation, r.success, r.observed_value) for r in report.results]


def test_chunked_clean_warehouse_matches_one_batch(tmp_path, warehouse_template):
    wh = warehouse_copy(tmp_path, warehouse_template)
    whole = Q.validate_marts(wh, "run-1", DAY)
    chunked = Q.validate_marts(wh, "run-1", DAY, chunk_rows=2)
    assert chunked.failures == []
    # one result per expectation (not per chunk), the same counts and observed values
    assert _key(chunked) == _key(whole)
    assert len(chunked.validations) == len(whole.validations) == len(Q.PUBLISHED_MARTS) + 1
    docs = {v.result.suite_name.split("@")[0]: v.result for v in chunked.validations}
    assert docs["marts.fct_orders"].statistics["evaluated_expectations"] == len(
        SUITES["marts.fct_orders"].expectations)


@pytest.mark.parametrize("mart,label", MART_PARAMS)
def test_chunked_mart_catches_each_critical_violation(tmp_path, warehouse_template, mart,
                                                      label):
    sql, also = MART_CASES[(mart, label)]
    wh = warehouse_copy(tmp_path, warehouse_template, *sql)
    report = Q.validate_marts(wh, "run-x", DAY, marts=[mart], reconcile=False, chunk_rows=2)
    assert {f.expectation for f in report.critical_failures} == {label} | also
    assert len(report.results) == len(SUITES[f"marts.{mart}"].expectations)


BIG_SUITE = {
    "name": "marts.big",
    "meta": {"siyu": {"kind": "mart", "table": "big",
                      "derived_columns": {"_age": "v + 1"}}},
    "expectations": [
        {"type": "expect_table_columns_to_match_set", "kwargs": {"column_set": ["id", "v", "g"], "exact_match": False}},
        {"type": "expect_table_row_count_to_be_between",
         "kwargs": {"min_value": 1, "max_value": 1_000_000_000}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}},
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "id"}},
        {"type": "expect_compound_columns_to_be_unique", "kwargs": {"column_list": ["id", "g"]}},
        {"type": "expect_column_values_to_be_between",
         "kwargs": {"column": "v", "min_value": 0, "max_value": 6}},
        {"type": "expect_column_values_to_be_in_set",
         "kwargs": {"column": "g", "value_set": ["a", "b"]}},
        {"type": "expect_column_distinct_values_to_contain_set",
         "kwargs": {"column": "g", "value_set": ["a", "b"]}},
        {"type": "expect_column_min_to_be_between", "kwargs": {"column": "_age", "max_value": 1}},
    ],
}
for _spec in BIG_SUITE["expectations"]:
    _spec["severity"] = Q.CRITICAL


def big_mart(tmp_path: Path, rows: int, *sql: str) -> tuple[Path, dict[str, Q.Suite]]:
    """marts.big: ``rows`` rows (id 'k<i>', v = i % 7, g = a | b) and its suite."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "big.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA marts")
    con.execute("CREATE TABLE marts.big AS SELECT 'k' || i AS id, i % 7 AS v,"
                " CASE WHEN i % 2 = 0 THEN 'a' ELSE 'b' END AS g FROM range(?) t(i)", [rows])
    for statement in sql:
        con.execute(statement)
    con.close()
    suites_dir = tmp_path / "suites"
    suites_dir.mkdir(exist_ok=True)
    (suites_dir / "marts.big.json").write_text(json.dumps(BIG_SUITE))
    return path, Q.load_suites(suites_dir)


@pytest.fixture
def frames_seen(monkeypatch) -> list:
    """Every DataFrame the GX engine validates: a copy of its ids and values, or only its
    length when it is large (the spy must not hold the data it measures)."""
    seen: list = []
    run = Q._Engine._run

    def spy(self, definition, position, suite, df, *args):
        small = len(df) <= 100
        seen.append(df[[c for c in ("id", "v") if c in df.columns]].copy() if small else
                    range(len(df)))
        return run(self, definition, position, suite, df, *args)

    monkeypatch.setattr(Q._Engine, "_run", spy)
    return seen


def _validate_big(wh: Path, suites: dict[str, Q.Suite], chunk_rows: int | None
                  ) -> dict[str, Q.QualityResult]:
    report = Q.validate_marts(wh, "run-big", DAY, marts=["big"], reconcile=False,
                              suites=suites, chunk_rows=chunk_rows)
    assert [r.expectation for r in report.results] == suites["marts.big"].labels()
    return {r.expectation.split("(")[0]: r for r in report.results}


def test_a_violation_in_the_last_chunk_is_caught(tmp_path, frames_seen):
    wh, suites = big_mart(tmp_path, 10, "UPDATE marts.big SET v = -1 WHERE id = 'k9'")
    results = _validate_big(wh, suites, chunk_rows=3)
    assert [len(f) for f in frames_seen] == [3, 3, 3, 1]
    assert frames_seen[-1]["id"].tolist() == ["k9"] and frames_seen[-1]["v"].tolist() == [-1]
    between = results["expect_column_values_to_be_between"]
    assert (between.success, between.observed_value) == (False, "1 of 10 unexpected (10%)")
    # the table's minimum is the least of the chunks' minima (-1 + 1 = 0, in the last chunk)
    assert results["expect_column_min_to_be_between"].observed_value == "0"
    assert [r for r in results.values() if not r.success] == [between]


def test_a_duplicate_key_split_across_chunks_is_caught(tmp_path, frames_seen):
    wh, suites = big_mart(tmp_path, 10, "UPDATE marts.big SET id = 'k0', g = 'a' WHERE id = 'k9'")
    results = _validate_big(wh, suites, chunk_rows=3)
    chunks_with_k0 = [i for i, f in enumerate(frames_seen) if "k0" in f["id"].tolist()]
    assert chunks_with_k0 == [0, 3]  # no chunk holds both rows
    for name in ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"):
        assert (results[name].success, results[name].observed_value) == (
            False, "2 of 10 unexpected (20%)"), name
    assert {n for n, r in results.items() if not r.success} == {
        "expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"}


def test_row_count_and_distinct_values_are_the_whole_tables(tmp_path, frames_seen):
    wh, suites = big_mart(tmp_path, 10, "UPDATE marts.big SET g = 'c' WHERE g = 'b'")
    results = _validate_big(wh, suites, chunk_rows=3)
    assert max(len(f) for f in frames_seen) == 3
    assert results["expect_table_row_count_to_be_between"].observed_value == "10"
    distinct = results["expect_column_distinct_values_to_contain_set"]
    assert (distinct.success, distinct.observed_value) == (False, "missing values: [b]")
    in_set = results["expect_column_values_to_be_in_set"]
    assert (in_set.success, in_set.observed_value) == (
        False, "5 of 10 unexpected (50%); unknown values [c]")
    # the same table in one batch: the same results
    one_batch = _validate_big(wh, suites, chunk_rows=None)
    assert {n: (r.success, r.observed_value) for n, r in one_batch.items()} == {
        n: (r.success, r.observed_value) for n, r in results.items()}
    assert len(frames_seen[-1]) == 10


def test_chunks_are_bounded_and_cover_every_row():
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT i FROM range(5000) r(i)")
    for limit in (1, 3, 2048, 4096, 4999, 10_000):
        sizes = [len(df) for df in Q._chunks(con.execute("SELECT * FROM t"), limit)]
        assert sum(sizes) == 5000 and max(sizes) <= limit, limit
    assert [len(df) for df in Q._chunks(con.execute("SELECT * FROM t WHERE false"), 3)] == [0]


def test_validating_a_large_mart_holds_one_chunk_at_a_time(tmp_path, frames_seen):
    import tracemalloc

    rows, limit = 1_000_000, 50_000
    wh, suites = big_mart(tmp_path, rows)
    warm, _ = big_mart(tmp_path / "warm", 10)  # GX imported and set up before measuring
    _validate_big(warm, suites, chunk_rows=None)
    frames_seen.clear()
    tracemalloc.start()
    try:
        results = _validate_big(wh, suites, chunk_rows=limit)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert all(r.success for r in results.values())
    assert results["expect_column_values_to_not_be_null"].observed_value == (
        f"0 of {rows} unexpected (0%)")
    assert sum(len(f) for f in frames_seen) == rows
    assert max(len(f) for f in frames_seen) <= limit
    # measured: ~12 MiB with chunks of 50k rows; the whole table in one DataFrame (and GX's
    # work on it) is ~190 MiB, the peak grows with the chunk, not with the table
    assert peak < 40 * 2**20, f"peak traced memory {peak / 2**20:.0f} MiB"
