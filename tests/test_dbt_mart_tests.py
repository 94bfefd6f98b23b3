"""The marts' data-quality rules are dbt data tests (one home per check, see
dbt_project/DECISIONLOG.md and expectations/README.md): each rule that the GX mart suites
and the reconciliation suite checked before is a dbt test in the model's yml or a singular
test in dbt_project/tests/. Here every one of them must catch a hand-made violation.

On a copy of the session's published warehouse (never the original): ``dbt test`` on the
clean copy must pass every test of the published marts (that run also hands out each test's
compiled SQL); then, per rule, one mart row is corrupted inside a transaction that is rolled
back, and the test's compiled SQL (the query dbt runs: it fails on any row) must return rows.
Two more real ``dbt test`` runs show the outcome dbt reports: missing columns and an
error-severity violation fail the run (so ``dbt build`` stops ``siyu run`` before publish), a
warn-severity violation is reported as a warning and does not.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from siyu.config import REPO_ROOT

DBT = Path(sys.executable).with_name("dbt")
PROJECT = REPO_ROOT / "dbt_project"
MARTS = ("dim_users", "dim_user_identifiers", "fct_orders", "fct_inquiries", "kpi_ltv_cohorts",
         "kpi_repurchase_90d", "kpi_response_daily", "kpi_department_daily")
SELECT = [*MARTS, "net_revenue_fct_orders_equals_staging", "ltv_dim_users_equals_fct_orders"]


def _copy(published_warehouse, dest: Path) -> Path:
    warehouse, _as_of = published_warehouse
    shutil.copytree(warehouse.parent, dest)
    return dest / warehouse.name


def dbt_test(published_warehouse, tmp: Path, *sql: str) -> tuple[int, dict[str, dict], str]:
    """``dbt test`` of the published marts on a fresh copy with ``sql`` applied first:
    (return code, results by test name, output tail)."""
    _warehouse, as_of = published_warehouse
    copy = _copy(published_warehouse, tmp / "wh")
    if sql:
        con = duckdb.connect(str(copy))
        for statement in sql:
            con.execute(statement)
        con.close()
    target = tmp / "dbt_target"
    env = {**os.environ, "SIYU_WAREHOUSE": str(copy), "SIYU_RAW_DIR": str(copy.parent / "siyu_raw"),
           "SIYU_ALLOW_DEMO_SALT": "1", "DBT_TARGET_PATH": str(target),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
    proc = subprocess.run(
        [DBT, "test", "--select", *SELECT, "--exclude-resource-type", "unit_test",
         "--project-dir", PROJECT, "--profiles-dir", PROJECT, "--log-path", tmp / "logs",
         "--vars", json.dumps({"as_of": as_of.isoformat()})],
        env=env, capture_output=True, text=True,
    )
    results = json.loads((target / "run_results.json").read_text())["results"]
    by_name = {r["unique_id"].split(".")[2]: r for r in results}
    return proc.returncode, by_name, proc.stdout[-4000:] + proc.stderr[-2000:]


@pytest.fixture(scope="module")
def clean(published_warehouse, tmp_path_factory) -> tuple[Path, dict[str, dict]]:
    """(a copy of the published warehouse, dbt's results of every mart test on it)."""
    tmp = tmp_path_factory.mktemp("dbt_marts_clean")
    code, results, out = dbt_test(published_warehouse, tmp)
    assert code == 0, out
    return tmp / "wh" / published_warehouse[0].name, results


def test_clean_copy_passes_every_mart_test(clean):
    _copy_path, results = clean
    assert {r["status"] for r in results.values()} == {"pass"}
    names = set(results)
    # every model-level rule moved from GX is there (named <mart>__<rule>), and the
    # reconciliation's singular test
    assert sum(n.split("__")[0] in MARTS for n in names) == 73
    assert "net_revenue_fct_orders_equals_staging" in names


def one(table: str, where: str = "true") -> str:
    return f"rowid = (SELECT min(rowid) FROM marts.{table} WHERE {where})"


def upd(table: str, assignment: str, where: str = "true") -> str:
    return f"UPDATE marts.{table} SET {assignment} WHERE {one(table, where)}"


def dup(table: str, *cols: str) -> str:
    """The second row takes the first row's values of ``cols``."""
    sets = ", ".join(f"{c} = (SELECT {c} FROM marts.{table} WHERE {one(table)})" for c in cols)
    return (f"UPDATE marts.{table} SET {sets} WHERE rowid = (SELECT min(rowid) FROM"
            f" marts.{table} WHERE NOT ({one(table)}))")


# (dbt test name, or the start of an generated name that ends in a hash) -> SQL making one
# bad row. One case per rule of the former GX mart suites + reconciliation suite, critical
# and warning alike (expectations/README.md has the mapping).
CASES: list[tuple[str, list[str]]] = []


def case(test: str, *sql: str) -> None:
    CASES.append((test, list(sql)))


# (mart, column, which row) whose NOT NULL is part of the mart's contract: on DuckDB the table
# itself refuses a NULL there (a NOT NULL constraint, dbt_project.yml `contract`), so no dbt
# test runs for it; elsewhere the generic test not_null_constraints checks it.
NOT_NULL: list[tuple[str, str, str]] = []


def not_null(table: str, column: str, where: str = "true") -> None:
    NOT_NULL.append((table, column, where))


m = "dim_users"
case(f"{m}__not_empty", f"DELETE FROM marts.{m}")
not_null(m, "user_id")
case("unique_dim_users_user_id", dup(m, "user_id"))
case(f"{m}__user_id_shape", upd(m, "user_id = 'user-1'"))
not_null(m, "source_channel")
not_null(m, "is_active_contact")
not_null(m, "qualifying_purchases")
case(f"{m}__qualifying_purchases_non_negative", upd(m, "qualifying_purchases = -1"))
not_null(m, "ltv")
case(f"{m}__ltv_non_negative", upd(m, "ltv = -1"))
not_null(m, "lifecycle_stage")
case("accepted_values_dim_users_lifecycle_stage", upd(m, "lifecycle_stage = 'vip'"))
for c in ("rfm_r", "rfm_f", "rfm_m"):
    case(f"accepted_values_dim_users_{c}", upd(m, f"{c} = 6"))
case(f"{m}__first_purchase_at_when_purchased",
     upd(m, "first_purchase_at = NULL", "qualifying_purchases > 0"))
case(f"{m}__first_seen_at_when_active", upd(m, "first_seen_at = NULL", "is_active_contact"))
case(f"{m}__first_purchase_not_before_first_seen",
     upd(m, "first_seen_at = first_purchase_at + INTERVAL 1 HOUR", "first_purchase_at IS NOT NULL"))
case(f"{m}__department_known", upd(m, "department = 'finance'"))
case(f"{m}__fresh", f"UPDATE marts.{m} SET first_seen_at = first_seen_at - INTERVAL 30 DAY")

m = "dim_user_identifiers"
case(f"{m}__not_empty", f"DELETE FROM marts.{m}")
not_null(m, "identifier_type")
case("accepted_values_dim_user_identifiers_identifier_type", upd(m, "identifier_type = 'fax'"))
not_null(m, "identifier_value")
not_null(m, "user_id")
case(f"{m}__user_id_shape", upd(m, "user_id = 'U1'"))
case("unique_combination_of_columns_dim_user_identifiers",
     dup(m, "identifier_type", "identifier_value"))
# a phone or e-mail in the clear is the violation: they leave the raw layer only hashed
case(f"{m}__phone_is_hash",
     upd(m, "identifier_value = '13800138000'", "identifier_type = 'phone'"))
case(f"{m}__email_is_hash",
     upd(m, "identifier_value = 'zhang@example.com'", "identifier_type = 'email'"))
case(f"{m}__contact_id_shape", upd(m, "identifier_value = 'X1'", "identifier_type = 'contact_id'"))
case(f"{m}__external_userid_shape",
     upd(m, "identifier_value = 'xx1'", "identifier_type = 'external_userid'"))
case(f"{m}__unionid_shape", upd(m, "identifier_value = 'x1'", "identifier_type = 'unionid'"))
case(f"{m}__buyer_id_shape", upd(m, "identifier_value = 'X1'", "identifier_type = 'buyer_id'"))

m = "fct_orders"
case(f"{m}__not_empty", f"DELETE FROM marts.{m}")
not_null(m, "order_id")
case("unique_fct_orders_order_id", dup(m, "order_id"))
case(f"{m}__order_id_shape", upd(m, "order_id = 'X1'"))
not_null(m, "user_id")
case(f"{m}__user_id_shape", upd(m, "user_id = 'B0001'"))
not_null(m, "status")
case("accepted_values_fct_orders_status", upd(m, "status = 'lost'"))
case(f"{m}__channel_not_null", upd(m, "channel = NULL"))
case(f"{m}__paid_amount_non_negative", upd(m, "paid_amount = -1"))
not_null(m, "refunded_amount")
case(f"{m}__refunded_amount_non_negative", upd(m, "refunded_amount = -1"))
not_null(m, "net_revenue")
case(f"{m}__net_revenue_non_negative", upd(m, "net_revenue = -1", "is_paid AND NOT is_qualifying"))
case(f"{m}__net_revenue_at_most_paid", upd(m, "net_revenue = paid_amount + 1", "is_qualifying"))
not_null(m, "is_qualifying")
case(f"{m}__paid_at_when_paid", upd(m, "paid_at = NULL", "is_paid"))
case(f"{m}__order_date_when_paid", upd(m, "order_date = NULL", "is_paid"))
case(f"{m}__net_revenue_zero_when_unpaid", upd(m, "net_revenue = 10", "NOT is_paid"))
case(f"{m}__net_revenue_positive_when_qualifying", upd(m, "net_revenue = 0", "is_qualifying"))
case(f"{m}__fresh", f"UPDATE marts.{m} SET created_at = created_at - INTERVAL 30 DAY")

m = "fct_inquiries"
case(f"{m}__not_empty", f"DELETE FROM marts.{m}")
not_null(m, "inquiry_id")
case("unique_fct_inquiries_inquiry_id", dup(m, "inquiry_id"))
not_null(m, "user_id")
case(f"{m}__user_id_shape", upd(m, "user_id = 'wm001'"))
not_null(m, "staff_id")
not_null(m, "started_at")
not_null(m, "department")
case("accepted_range_fct_inquiries_frt_seconds",
     upd(m, "frt_seconds = -5", "frt_seconds IS NOT NULL"))
case(f"{m}__responded_not_before_started",
     upd(m, "responded_at = started_at - INTERVAL 1 MINUTE", "responded_at IS NOT NULL"))
case(f"{m}__frt_when_responded", upd(m, "frt_seconds = NULL", "responded_at IS NOT NULL"))
case(f"{m}__fresh", f"UPDATE marts.{m} SET started_at = started_at - INTERVAL 30 DAY")

m = "kpi_ltv_cohorts"
case(f"{m}__not_empty", f"DELETE FROM marts.{m}")
not_null(m, "cohort_month")
case(f"{m}__cohort_month_on_the_1st", upd(m, "cohort_month = DATE '2025-03-02'"))
not_null(m, "horizon_days")
case("accepted_values_kpi_ltv_cohorts_horizon_days", upd(m, "horizon_days = 60"))
not_null(m, "channel", "channel <> 'all'")
case("unique_combination_of_columns_kpi_ltv_cohorts",
     dup(m, "cohort_month", "horizon_days", "channel"))
case(f"{m}__all_channel_present",
     f"UPDATE marts.{m} SET channel = 'store_qr' || cast(rowid AS VARCHAR) WHERE channel = 'all'")
not_null(m, "users")
case("accepted_range_kpi_ltv_cohorts_users", upd(m, "users = 0"))
case("accepted_range_kpi_ltv_cohorts_avg_ltv", upd(m, "avg_ltv = -1"))
not_null(m, "is_complete")
case("expression_is_true_kpi_ltv_cohorts", upd(m, "avg_ltv = 10", "NOT is_complete"))
# complete, but no LTV (40 days of data hold no complete cohort: make one)
case("expression_is_true_kpi_ltv_cohorts", upd(m, "is_complete = true", "avg_ltv IS NULL"))

m = "kpi_repurchase_90d"
case(f"{m}__not_empty", f"DELETE FROM marts.{m}")
not_null(m, "cohort_month")
case(f"{m}__cohort_month_on_the_1st", upd(m, "cohort_month = DATE '2025-01-31'"))
not_null(m, "channel")
case("unique_combination_of_columns_kpi_repurchase_90d", dup(m, "cohort_month", "channel"))
for c in ("matured_users", "repurchased_users", "immature_users"):
    not_null(m, c)
    case(f"{m}__{c}_non_negative", upd(m, f"{c} = -1"))
case("expression_is_true_kpi_repurchase_90d", upd(m, "repurchased_users = matured_users + 1"))
case("accepted_range_kpi_repurchase_90d_repurchase_rate_90d",
     upd(m, "repurchase_rate_90d = 1.5"))
case(f"{m}__rate_null_when_none_matured", upd(m, "repurchase_rate_90d = 0", "matured_users = 0"))

m = "kpi_response_daily"
case(f"{m}__not_empty", f"DELETE FROM marts.{m}")
not_null(m, "date")
not_null(m, "staff_id")
not_null(m, "department")
case("unique_combination_of_columns_kpi_response_daily", dup(m, "date", "staff_id"))
for c in ("inquiries", "matured_2h", "answered_2h", "matured_48h", "answered_48h"):
    case(f"{m}__{c}_non_negative", upd(m, f"{c} = -1"))
case(f"{m}__inquiries_at_least_matured_2h", upd(m, "inquiries = 0", "matured_2h > 0"))
case(f"{m}__matured_2h_at_least_answered_2h", upd(m, "answered_2h = matured_2h + 1"))
case(f"{m}__inquiries_at_least_matured_48h", upd(m, "matured_48h = inquiries + 1"))
case(f"{m}__matured_48h_at_least_answered_48h", upd(m, "answered_48h = matured_48h + 1"))
case("accepted_range_kpi_response_daily_response_rate_2h", upd(m, "response_rate_2h = 1.01"))
case("accepted_range_kpi_response_daily_response_rate_48h",
     upd(m, "response_rate_48h = -0.1", "response_rate_48h IS NOT NULL"))
case("accepted_range_kpi_response_daily_frt_p50_seconds",
     upd(m, "frt_p50_seconds = -1", "frt_p50_seconds IS NOT NULL"))
case(f"{m}__frt_p90_seconds_at_least_frt_p50_seconds",
     upd(m, "frt_p90_seconds = frt_p50_seconds - 1", "frt_p50_seconds IS NOT NULL"))
case(f"{m}__fresh", f'UPDATE marts.{m} SET "date" = "date" - INTERVAL 30 DAY')

m = "kpi_department_daily"
case(f"{m}__not_empty", f"DELETE FROM marts.{m}")
not_null(m, "date")
not_null(m, "department", "department = 'sales'")
not_null(m, "kpi", "department = 'sales'")
case("unique_combination_of_columns_kpi_department_daily",
     upd(m, "department = 'all'", "department = 'sales'"))
case(f"{m}__every_kpi_present", f"DELETE FROM marts.{m} WHERE kpi = 'nps'")
case(f"{m}__all_department_present", f"DELETE FROM marts.{m} WHERE department = 'all'")
case("accepted_values_kpi_department_daily_status", upd(m, "status = 'amber'"))
case(f"{m}__status_when_value", upd(m, "status = NULL", "value IS NOT NULL"))
case(f"{m}__rates_between_0_and_1", upd(m, "value = 1.2", "kpi = 'tag_completeness'"))
case(f"{m}__nps_between_minus_100_and_100", upd(m, "value = 101", "kpi = 'nps'"))
case(f"{m}__amounts_non_negative", upd(m, "value = -3", "kpi = 'net_revenue'"))
case(f"{m}__department_known", upd(m, "department = 'finance'"))
case(f"{m}__has_as_of", f'UPDATE marts.{m} SET "date" = "date" - INTERVAL 1 DAY')

# reconciliations (cross-model)
case("net_revenue_fct_orders_equals_staging",
     upd("fct_orders", "net_revenue = net_revenue + 1.00", "is_paid"))
case("ltv_dim_users_equals_fct_orders",
     upd("fct_orders", "net_revenue = net_revenue + 1.00", "is_paid"))
case("net_revenue_fct_orders_equals_staging",  # the staging recomputation alone sees it
     "UPDATE staging.stg_shop__orders SET paid_amount = paid_amount + 1 WHERE order_id ="
     " (SELECT min(order_id) FROM marts.fct_orders WHERE is_qualifying AND refunded_amount = 0)")
case("relationships_fct_orders_user_id", upd("fct_orders", "user_id = 'u_00000000000000ff'"))


def _test_named(results: dict[str, dict], name: str) -> str:
    hits = [n for n in results if n == name or n.startswith(name + "_") or
            (n.startswith(name) and name.endswith("_"))]
    exact = [n for n in hits if n == name]
    assert exact or len(hits) == 1, (name, hits)
    return exact[0] if exact else hits[0]


@pytest.mark.parametrize("test,sql", [pytest.param(t, s, id=f"{t}:{i}")
                                      for i, (t, s) in enumerate(CASES)])
def test_each_rule_catches_its_violation(clean, test, sql):
    copy, results = clean
    name = _test_named(results, test)
    query = f"SELECT count(*) FROM ({results[name]['compiled_code']}) AS failures"
    con = duckdb.connect(str(copy))
    try:
        assert con.execute(query).fetchone()[0] == 0  # clean
        con.execute("BEGIN TRANSACTION")
        for statement in sql:
            con.execute(statement)
        assert con.execute(query).fetchone()[0] > 0, (name, sql)
        con.execute("ROLLBACK")
    finally:
        con.close()


@pytest.mark.parametrize("table,column,where", [pytest.param(*c, id=f"{c[0]}.{c[1]}")
                                                 for c in NOT_NULL])
def test_each_contract_not_null_refuses_a_null(clean, table, column, where):
    copy, _results = clean
    con = duckdb.connect(str(copy))
    try:
        con.execute("BEGIN TRANSACTION")
        with pytest.raises(duckdb.ConstraintException, match="NOT NULL constraint failed"):
            con.execute(upd(table, f"{column} = NULL", where))
        con.execute("ROLLBACK")
    finally:
        con.close()


def test_the_contracts_not_nulls_are_the_tables_constraints(clean):
    """Every `not_null` constraint of a contracted model's yml (the marts, staging and
    intermediate; not the incremental models) is a NOT NULL of its DuckDB table and the other
    way round, and no contracted column also has a not_null test (one home per check)."""
    copy, results = clean
    manifest = json.loads((copy.parent.parent / "dbt_target" / "manifest.json").read_text())
    declared, tested = set(), set()
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model" and node["config"]["contract"]["enforced"]:
            for name, column in node["columns"].items():
                assert column["data_type"], (node["name"], name)
                if any(c["type"] == "not_null" for c in column["constraints"]):
                    declared.add((node["schema"], node["alias"], name))
        meta = node.get("test_metadata") or {}
        if node["resource_type"] == "test" and meta.get("name") == "not_null":
            parent = manifest["nodes"].get(node["attached_node"] or "", {})
            tested.add((parent.get("schema"), parent.get("alias"), meta["kwargs"]["column_name"]))
    con = duckdb.connect(str(copy), read_only=True)
    try:
        enforced = set(con.execute(
            "SELECT schema_name, table_name, constraint_column_names[1] FROM duckdb_constraints()"
            " WHERE constraint_type = 'NOT NULL'"
            " AND schema_name IN ('staging', 'intermediate', 'marts')").fetchall())
    finally:
        con.close()
    assert {s for s, _t, _c in declared} == {"staging", "intermediate", "marts"}
    assert len(declared) > 250
    assert declared == enforced
    assert declared & tested == set()
    assert {("marts", t, c) for t, c, _w in NOT_NULL} <= declared


def test_missing_columns_and_a_critical_violation_fail_dbt(published_warehouse, tmp_path):
    dropped = {"dim_users": "owner_staff_id", "dim_user_identifiers": "identifier_value",
               "fct_orders": "channel", "fct_inquiries": "responded_at",
               "kpi_ltv_cohorts": "is_complete", "kpi_repurchase_90d": "immature_users",
               "kpi_response_daily": "frt_p90_seconds", "kpi_department_daily": "target"}
    sql = [f"ALTER TABLE marts.{m} DROP COLUMN {c}" for m, c in dropped.items()]
    code, results, out = dbt_test(published_warehouse, tmp_path,
                                  *sql, upd("fct_orders", "status = 'lost'"))
    assert code == 1, out  # dbt build would stop here: siyu run never publishes
    for m in dropped:
        assert results[f"{m}__columns"]["status"] == "fail", m
        assert results[f"{m}__columns"]["failures"] == 1, m
    status = _test_named(results, "accepted_values_fct_orders_status")
    assert results[status]["status"] == "fail"


def test_a_warning_rule_warns_without_failing_dbt(published_warehouse, tmp_path):
    code, results, out = dbt_test(published_warehouse, tmp_path,
                                  upd("fct_orders", "channel = NULL"),
                                  upd("fct_orders", "order_id = 'X1'"))
    assert code == 0, out
    warned = {n for n, r in results.items() if r["status"] == "warn"}
    assert warned == {"fct_orders__channel_not_null", "fct_orders__order_id_shape"}
    assert {r["status"] for n, r in results.items() if n not in warned} == {"pass"}
