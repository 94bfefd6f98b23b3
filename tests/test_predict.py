"""Predictive KPIs (include/siyu/predict.py; marts pred_customer_90d, pred_model_evaluation).

* the BG/NBD and evaluation arithmetic against published and hand-computed values;
* on a generated landing zone (2,500 people, 270 days: 180 days to learn from, 90 to check),
  the chosen model beats the naive baseline on every held-out metric, which also shows that
  the generator's buyers follow a learnable process (heterogeneous purchase rates);
* the session's published warehouse holds both marts, their bi views and one score per buyer.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy.special import hyp2f1

from siyu import predict
from siyu.devtools.generate import generate

from .extracts_fixtures import create_report_views


# ----------------------------------------------------------------------------- arithmetic
def test_bgnbd_expected_purchases_matches_the_paper():
    """Fader, Hardie & Lee (2005), CDNOW: r = 0.243, alpha = 4.414, a = 0.793, b = 2.426; a
    customer with x = 2, t_x = 30.43, T = 38.86 weeks is expected to make 1.226 purchases in
    the next 39 weeks."""
    m = predict.BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426)
    got = m.expected_purchases(39, np.array([2.0]), np.array([30.43]), np.array([38.86]))
    assert got[0] == pytest.approx(1.226, abs=0.0005)


def test_bgnbd_quadrature_equals_the_closed_form_where_it_holds():
    """For a > 1 the paper's eq. 10 (Gaussian hypergeometric function) applies: same values."""
    m = predict.BGNBD(r=0.5, alpha=10.0, a=1.8, b=2.5)
    x, tx, T = np.array([0.0, 1, 4, 9]), np.array([0.0, 3, 20, 50]), np.array([60.0, 60, 60, 60])
    t = 90.0
    z = t / (m.alpha + T + t)
    closed = ((m.a + m.b + x - 1) / (m.a - 1)
              * (1 - ((m.alpha + T) / (m.alpha + T + t)) ** (m.r + x)
                 * hyp2f1(m.r + x, m.b + x, m.a + m.b + x - 1, z))
              / (1 + (x > 0) * m.a / (m.b + np.maximum(x, 1) - 1)
                 * ((m.alpha + T) / (m.alpha + tx)) ** (m.r + x)))
    assert m.expected_purchases(t, x, tx, T) == pytest.approx(closed, rel=1e-5)
    # a buyer who has not been seen for long is less likely alive than one who bought lately
    alive = m.p_alive(np.array([4.0, 4.0]), np.array([5.0, 55.0]), np.array([60.0, 60.0]))
    assert alive[0] < alive[1]
    p = m.p_purchase(t, x, tx, T)
    assert ((p > 0) & (p < 1)).all()


def test_auc_counts_ties_half_and_equals_scipys_average_ranks():
    # buyers 0.9 and 0.5 against non-buyers 0.1 and 0.5: three wins and one tie of four pairs
    y, p = np.array([1.0, 0.0, 1.0, 0.0]), np.array([0.9, 0.1, 0.5, 0.5])
    assert predict._auc(y, p) == 3.5 / 4
    assert np.isnan(predict._auc(np.array([1.0, 1.0]), np.array([0.2, 0.4])))  # no non-buyer
    assert np.isnan(predict._auc(y, np.array([0.9, np.nan, 0.5, 0.5])))
    # many ties (probabilities on a grid of 20 values): bit for bit the Mann-Whitney U of scipy
    from scipy.stats import mannwhitneyu
    rng = np.random.default_rng(7)
    y = (rng.random(5000) < 0.3).astype(float)
    p = np.round(rng.random(5000) * 19) / 19
    u = mannwhitneyu(p[y > 0.5], p[y < 0.5], method="asymptotic").statistic
    assert predict._auc(y, p) == u / ((y > 0.5).sum() * (y < 0.5).sum())


def test_summarize_outcomes_and_metrics_by_hand():
    days = pd.DataFrame({
        "user_id": ["a", "a", "a", "b", "a"],
        "day": pd.to_datetime(["2025-01-01", "2025-01-05", "2025-01-10", "2025-01-19",
                               "2025-02-01"]),
        "purchases": [1.0, 2.0, 1.0, 1.0, 1.0],
        "net_revenue": [100.0, 50.0, 70.0, 30.0, 999.0],
    })
    s = predict.summarize(days, date(2025, 1, 20))  # cutoff exclusive: 2025-02-01 is later
    a, b = s.loc["a"], s.loc["b"]
    assert (a["x"], a["t_x"], a["T"], a["purchases"], a["revenue"]) == (2, 9, 19, 4, 220)
    assert a["m"] == pytest.approx((50 + 70) / 2)  # mean of the repeat purchase days
    assert (b["x"], b["t_x"], b["T"], b["m"], b["days_since_last"]) == (0, 0, 1, 0, 1)
    y = predict.outcomes(days, date(2025, 1, 20), date(2025, 4, 20), s.index)
    assert y.loc["a", "revenue"] == 999 and y.loc["b", "bought"] == 0

    pred = pd.DataFrame({"p": [0.9, 0.1, 0.8, 0.4], "revenue": [100.0, 0.0, 50.0, 10.0]})
    actual = pd.DataFrame({"bought": [1.0, 0, 0, 1], "revenue": [120.0, 0, 0, 30]})
    got = predict.metrics(pred, actual)
    # positives 0.9, 0.4 against negatives 0.1, 0.8: 3 of 4 pairs ordered
    assert got["auc"] == pytest.approx(0.75)
    assert got["brier"] == pytest.approx((0.01 + 0.01 + 0.64 + 0.36) / 4)
    assert got["mae_net_revenue"] == pytest.approx((20 + 0 + 50 + 20) / 4)
    assert got["total_net_revenue_error"] == pytest.approx((160 - 150) / 150)


# ----------------------------------------------------------------------------- generated data
@pytest.fixture(scope="module")
def generated_history(tmp_path_factory):
    """Qualifying purchases per person and day of a generated landing zone, read from its
    files (clean: no bad lines, no gzip, one part), with the person as the user: the latest
    snapshot of each order, paid and not cancelled, minus its refunds, above 0."""
    out = tmp_path_factory.mktemp("predict") / "landing"
    manifest = generate(out, users=2500, days=270, start="2024-10-01", seed=5,
                        bad_rate=0.0, gzip_rate=0.0, parts=1)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    days = con.sql(f"""
        with snapshots as (
            select order_id, buyer_id, status, paid_at, cast(paid_amount as double) as paid,
                   row_number() over (partition by order_id
                                      order by cast(updated_at as timestamptz) desc) as rn
            from read_json('{out}/shop/orders/*/*.jsonl', format = 'newline_delimited',
                           columns = {{order_id: 'VARCHAR', buyer_id: 'VARCHAR',
                                      status: 'VARCHAR', paid_at: 'VARCHAR',
                                      updated_at: 'VARCHAR', paid_amount: 'VARCHAR'}})
        ),
        refunds as (
            select order_id, sum(cast(amount as double)) as refunded
            from read_json('{out}/shop/refunds/*/*.jsonl', format = 'newline_delimited',
                           columns = {{order_id: 'VARCHAR', amount: 'VARCHAR'}})
            group by 1
        )
        select 'u' || substr(s.buyer_id, 2) as user_id,
               cast(cast(s.paid_at as timestamptz) as date) as purchase_day,
               count(*) as purchases,
               sum(greatest(s.paid - coalesce(r.refunded, 0), 0)) as net_revenue
        from snapshots as s left join refunds as r using (order_id)
        where s.rn = 1 and s.paid_at is not null and s.status <> 'cancelled'
          and s.paid - coalesce(r.refunded, 0) > 0
        group by 1, 2
    """).df()
    channels = con.sql(f"""
        select distinct 'u' || substr(contact_id, 2) as user_id, source_channel
        from read_csv('{out}/crm/contacts/*/*.csv', all_varchar = true)
    """).df().drop_duplicates("user_id")
    con.close()
    buyers = pd.DataFrame({"user_id": sorted(days["user_id"].unique())})
    buyers = buyers.merge(channels, on="user_id", how="left").fillna({"source_channel": "unknown"})
    buyers["department"] = "sales"
    last_buy = days.groupby("user_id")["purchase_day"].max()
    as_of = date.fromisoformat(manifest["as_of"])
    origin = pd.Timestamp(as_of + timedelta(days=1 - predict.HORIZON_DAYS))
    before = days[pd.to_datetime(days["purchase_day"]) < origin].groupby("user_id")["purchase_day"].max()
    buyers["last_interaction_at"] = pd.to_datetime(buyers["user_id"].map(last_buy))
    buyers["last_interaction_at_origin"] = pd.to_datetime(buyers["user_id"].map(before))
    return days, buyers, as_of


def test_the_chosen_model_beats_the_naive_baseline_on_held_out_history(generated_history):
    days, buyers, as_of = generated_history
    ev = predict.evaluate(days, buyers, as_of)
    assert set(ev["model"]) == set(predict.MODELS)
    assert ev["training_window_end"].iloc[0] == as_of - timedelta(days=90)
    assert ev["evaluation_window_start"].iloc[0] == as_of - timedelta(days=89)
    allb = ev[ev["segment"] == "all"].set_index(["model", "metric"])["value"]
    chosen = ev.loc[ev["is_chosen"], "model"].unique()
    assert len(chosen) == 1 and chosen[0] != "naive_last_90d"
    model = chosen[0]
    assert allb[(model, "auc")] > allb[("naive_last_90d", "auc")] + 0.05
    assert allb[(model, "auc")] > 0.65  # the generator's purchase rates are learnable
    assert allb[(model, "brier")] < allb[("naive_last_90d", "brier")]
    assert allb[(model, "mae_net_revenue")] < allb[("naive_last_90d", "mae_net_revenue")]
    assert (abs(allb[(model, "total_net_revenue_error")])
            < abs(allb[("naive_last_90d", "total_net_revenue_error")]))
    # the baseline column repeats the baseline's own value
    naive = ev[ev["model"] == "naive_last_90d"]
    assert (naive["value"].fillna(-1) == naive["baseline_value"].fillna(-1)).all()
    # per acquisition channel (41-143 buyers each): better ranking, calibration and total in
    # every channel; the per-buyer MAE, noisier on small channels, in most of them
    chan = ev[(ev["model"] == model) & (ev["segment"] != "all")].pivot(
        index="segment", columns="metric", values="value")
    base = naive[naive["segment"] != "all"].pivot(index="segment", columns="metric", values="value")
    assert len(chan) >= 6
    assert (chan["auc"] > base["auc"]).all() and (chan["brier"] < base["brier"]).all()
    assert (chan["total_net_revenue_error"].abs() < base["total_net_revenue_error"].abs()).all()
    assert (chan["mae_net_revenue"] < base["mae_net_revenue"]).sum() > len(chan) / 2


def test_scores_are_reproducible_and_complete(generated_history):
    days, buyers, as_of = generated_history
    first = predict.score(days, buyers, as_of, "gbm_rfm")
    # the same scores, to the last bit, whatever order the rows come in (DuckDB keeps no
    # insertion order; daily builds are compared with a full build exactly)
    second = predict.score(days.sample(frac=1, random_state=1),
                           buyers.sample(frac=1, random_state=2), as_of, "gbm_rfm")
    pd.testing.assert_frame_equal(first, second, check_exact=True)
    bg = predict.score(days, buyers, as_of, "bgnbd_gg")
    for scores in (first, bg):
        assert list(scores["user_id"]) == sorted(buyers["user_id"])
        assert scores["p_purchase_90d"].between(0, 1).all()
        assert (scores["expected_net_revenue_90d"] >= 0).all()
    assert bg["model_version"].iloc[0] == f"bgnbd_gg/v1 trained to {as_of.isoformat()}"
    # the probability ranks who buys more often: frequent buyers score higher
    freq = days.groupby("user_id")["purchase_day"].nunique().reindex(bg["user_id"]).to_numpy()
    assert bg["p_purchase_90d"][freq >= 5].mean() > bg["p_purchase_90d"][freq == 1].mean()


# ----------------------------------------------------------------------------- the build
def test_published_warehouse_has_the_predictive_marts(published_warehouse):
    """The session's warehouse (40 days: too short to evaluate, so the default model scores)."""
    warehouse, as_of = published_warehouse
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        buyers = {u for (u,) in con.execute(
            "SELECT user_id FROM marts.dim_users WHERE qualifying_purchases > 0").fetchall()}
        rows = con.execute(
            "SELECT user_id, as_of, p_purchase_90d, expected_net_revenue_90d, model_version "
            "FROM bi.pred_customer_90d").fetchall()
        evaluated = con.execute("SELECT count(*) FROM bi.pred_model_evaluation").fetchone()[0]
    finally:
        con.close()
    assert buyers and {r[0] for r in rows} == buyers and len(rows) == len(buyers)
    assert {r[1] for r in rows} == {as_of}
    assert all(0 <= r[2] <= 1 and r[3] >= 0 for r in rows)
    assert evaluated == 0  # fewer than 20 buyers before as_of - 90 days: nothing to evaluate
    assert {r[4] for r in rows} == {f"{predict.DEFAULT_MODEL}/v1 trained to {as_of.isoformat()}"}


# ----------------------------------------------------------------------------- the extracts
def _report_days(con, day: date) -> None:
    """The report-day spine the reports views read (marts.dim_dates and the days of
    marts.kpi_department_daily): the day and the one before."""
    con.execute("CREATE TABLE IF NOT EXISTS marts.dim_dates AS SELECT CAST(d AS DATE) AS date_day "
                "FROM range(DATE '2025-06-01', DATE '2025-07-01', INTERVAL 1 DAY) AS t (d)")
    con.execute("CREATE TABLE IF NOT EXISTS marts.kpi_department_daily (date DATE)")
    con.executemany("INSERT INTO marts.kpi_department_daily VALUES (?)",
                    [(day - timedelta(days=1),), (day,)])


def test_extract_tables_rank_by_expected_value_and_value_at_risk(tmp_path):
    from siyu.extracts import tables as T

    day = date(2025, 6, 28)
    con = duckdb.connect(str(tmp_path / "tiny.duckdb"))
    con.execute("CREATE SCHEMA marts")
    con.execute("""CREATE TABLE marts.dim_users (user_id VARCHAR, owner_staff_id VARCHAR,
        department VARCHAR, lifecycle_stage VARCHAR, ltv DECIMAL(18, 2))""")
    con.executemany("INSERT INTO marts.dim_users VALUES (?, ?, ?, ?, ?)", [
        ("u1", "sales_000", "sales", "churn_risk", 900), ("u2", "sales_001", "sales", "active", 50),
        ("u3", "ops_000", "operations", "silent", 400), ("u4", "sales_000", "sales", "silent", 80),
    ])
    con.execute("""CREATE TABLE marts.dim_staff (staff_id VARCHAR, name_masked VARCHAR,
        department VARCHAR)""")
    con.executemany("INSERT INTO marts.dim_staff VALUES (?, ?, ?)", [
        ("sales_000", "周*", "sales"), ("sales_001", "林*", "sales"), ("ops_000", "高*", "operations")])
    con.execute("""CREATE TABLE marts.pred_customer_90d (user_id VARCHAR, as_of DATE,
        department VARCHAR, p_purchase_90d DOUBLE, expected_purchases_90d DOUBLE,
        expected_net_revenue_90d DECIMAL(18, 2), net_revenue_last_90d DECIMAL(18, 2),
        value_at_risk_90d DECIMAL(18, 2))""")
    con.executemany("INSERT INTO marts.pred_customer_90d VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
        # value at risk = last 90 days x (1 - p)
        ("u1", day, "sales", 0.2, 0.3, 120, 500, 400),
        ("u2", day, "sales", 0.9, 2.5, 800, 600, 60),
        ("u3", day, "operations", 0.5, 1.0, 300, 900, 450),
        ("u4", day, "sales", 0.1, 0.1, 10, 0, 0),  # nothing at risk: not listed
        ("u2", day - timedelta(days=1), "sales", 0.9, 2.5, 9999, 600, 60),  # another build day
    ])
    _report_days(con, day)
    create_report_views(con, "rpt_report_days", "rpt_sales__pred_top_customers",
                        "rpt_operations__pred_churn_risk_value")
    top = T.fetch(con, T.PRED_TOP_CUSTOMERS, day, "sales")
    assert [(r[0], r[1], r[3], float(r[6])) for r in top.rows] == [
        (1, "u2", "林*", 800.0), (2, "u1", "周*", 120.0), (3, "u4", "周*", 10.0)]
    risk = T.fetch(con, T.PRED_CHURN_RISK_VALUE, day, "operations")
    assert [(r[0], r[1], r[2], float(r[6])) for r in risk.rows] == [
        (1, "u3", "silent", 450.0), (2, "u1", "churn_risk", 400.0)]
    assert T.PRED_TOP_CUSTOMERS in T.specs("sales")
    assert T.PRED_CHURN_RISK_VALUE in T.specs("operations")
    con.close()


def test_dbt_tests_catch_bad_scores_and_warn_on_a_weak_model(published_warehouse, tmp_path):
    """On a copy of the session's warehouse: a probability above 1 and a buyer without a score
    fail the build's error tests; a chosen model whose held-out AUC is under the floor (0.65)
    only warns."""
    import json
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    from siyu.config import REPO_ROOT

    warehouse, as_of = published_warehouse
    shutil.copytree(warehouse.parent, tmp_path / "wh")
    copy = tmp_path / "wh" / warehouse.name
    con = duckdb.connect(str(copy))
    con.execute("""UPDATE marts.pred_customer_90d SET p_purchase_90d = 1.5
        WHERE user_id = (SELECT min(user_id) FROM marts.pred_customer_90d)""")
    con.execute("""DELETE FROM marts.pred_customer_90d
        WHERE user_id = (SELECT max(user_id) FROM marts.pred_customer_90d)""")
    con.execute(f"""INSERT INTO marts.pred_model_evaluation
        (as_of, model, metric, segment, value, baseline_model, baseline_value, users, is_chosen)
        VALUES ('{as_of}', 'bgnbd_gg', 'auc', 'all', 0.55, 'naive_last_90d', 0.5, 100, true),
               ('{as_of}', 'naive_last_90d', 'auc', 'all', 0.5, 'naive_last_90d', 0.5, 100, false)""")
    con.close()
    project = REPO_ROOT / "dbt_project"
    target = tmp_path / "dbt_target"
    env = {**os.environ, "SIYU_WAREHOUSE": str(copy), "SIYU_RAW_DIR": str(copy.parent / "siyu_raw"),
           "SIYU_ALLOW_DEMO_SALT": "1", "DBT_TARGET_PATH": str(target),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
    proc = subprocess.run(
        [Path(sys.executable).with_name("dbt"), "test", "--select", "path:models/marts/predict",
         "path:tests/predict", "--exclude-resource-type", "unit_test", "--project-dir", project,
         "--profiles-dir", project, "--log-path", tmp_path / "logs",
         "--vars", json.dumps({"as_of": as_of.isoformat()})],
        env=env, capture_output=True, text=True)
    results = json.loads((target / "run_results.json").read_text())["results"]
    status = {r["unique_id"].split(".")[2]: r["status"] for r in results}
    assert proc.returncode != 0
    assert status["accepted_range_pred_customer_90d_p_purchase_90d__1__0"] == "fail"
    assert status["pred_customer_90d_covers_every_buyer"] == "fail"
    assert status["pred_model_evaluation__auc_above_floor"] == "warn"
    assert status["pred_model_evaluation_one_chosen_model"] == "pass"
    assert status["unique_pred_customer_90d_user_id"] == "pass"


def test_to_do_sheet_shows_value_at_risk_and_orders_win_backs_by_it(tmp_path):
    from siyu.extracts import tables as T

    day = date(2025, 6, 28)
    con = duckdb.connect(str(tmp_path / "todo.duckdb"))
    con.execute("CREATE SCHEMA marts")
    con.execute("""CREATE TABLE marts.fct_activation_tasks (as_of DATE, staff_id VARCHAR,
        department VARCHAR, task_type VARCHAR, user_id VARCHAR, reference_id VARCHAR,
        due_at TIMESTAMP, age_hours DOUBLE, priority INTEGER)""")
    end = "2025-06-29 00:00:00"
    con.executemany("INSERT INTO marts.fct_activation_tasks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [
        (day, "ops_000", "operations", "churn_risk_winback", "u1", "C1", end, 0.0, 4),
        (day, "ops_000", "operations", "churn_risk_winback", "u2", "C2", end, 0.0, 4),
        (day, "ops_000", "operations", "contact_untagged_6h", None, "C9", "2025-06-28 12:00", 12.0, 3),
    ])
    con.execute("CREATE TABLE marts.dim_staff (staff_id VARCHAR, name_masked VARCHAR)")
    con.execute("INSERT INTO marts.dim_staff VALUES ('ops_000', '高*')")
    con.execute("""CREATE TABLE marts.pred_customer_90d (user_id VARCHAR, as_of DATE,
        p_purchase_90d DOUBLE, value_at_risk_90d DECIMAL(18, 2))""")
    con.executemany("INSERT INTO marts.pred_customer_90d VALUES (?, ?, ?, ?)", [
        ("u1", day, 0.7, 30), ("u2", day, 0.2, 480)])
    _report_days(con, day)
    create_report_views(con, "rpt_report_days", "rpt_shared__todo")
    rows = T.fetch(con, T.TODO, day, "operations").rows
    con.close()
    # priority first; among the win-backs (same priority and due time) the larger value at risk
    assert [(r[4], r[8], None if r[9] is None else float(r[9])) for r in rows] == [
        ("C9", None, None), ("C2", 0.2, 480.0), ("C1", 0.7, 30.0)]


def test_a_buyer_whose_expected_purchases_round_to_zero_gets_no_revenue():
    """One buyer, one purchase of 269 CNY five days before as_of (the identity tests' small
    landing): the model expects ~0.00003 purchases, published as 0.0000, so the expected
    revenue is 0, not the 0.01 that 0.00003 x 269 rounds to (dbt test
    pred_customer_90d__expected_revenue_zero_with_zero_purchases)."""
    from datetime import date

    days = pd.DataFrame([{"user_id": "u1", "purchase_day": pd.Timestamp("2025-03-05"),
                          "purchases": 1, "net_revenue": 269.0}])
    buyers = pd.DataFrame([{"user_id": "u1", "as_of": pd.Timestamp("2025-03-10"),
                            "source_channel": "unknown", "department": "none",
                            "last_interaction_at": pd.Timestamp("2025-03-05 20:00:00"),
                            "last_interaction_at_origin": pd.NaT}])
    scores = predict.score(days, buyers, date(2025, 3, 10), "bgnbd_gg")
    row = scores.iloc[0]
    assert 0 < row["p_purchase_90d"] < 0.001
    assert row["expected_purchases_90d"] == 0
    assert row["expected_net_revenue_90d"] == 0
