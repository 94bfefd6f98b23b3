"""Published: the held-out comparison of the predictive models (docs/kpi-book.md#predictive-kpis).

Every model is trained on the purchases up to the end of as_of - 90 days and predicts the 90
days after, which the warehouse has seen; one row per model, metric and segment (all buyers,
each acquisition channel). The chosen model (is_chosen) scores pred_customer_90d. The code is
siyu.predict; SQL has aggregated the inputs per buyer and day (fct_user_purchase_days, fct_buyer_features). DuckDB only.
"""

import pandas as pd


def model(dbt, session):
    # dbt enforces model contracts on SQL models only (the SQL marts have one on DuckDB)
    dbt.config(materialized="table", contract={"enforced": False})
    from siyu import predict

    days = dbt.ref("fct_user_purchase_days").df()
    buyers = dbt.ref("fct_buyer_features").df()
    as_of = pd.Timestamp(buyers["as_of"].iloc[0]).date() if len(buyers) else None
    evaluation = predict.evaluate(days, buyers, as_of) if as_of else pd.DataFrame(
        columns=predict.EVALUATION_COLUMNS)
    evaluation.insert(0, "as_of", as_of)
    evaluation["baseline_model"] = "naive_last_90d"
    session.register("pred_model_evaluation_df", evaluation)
    return session.sql("""
        select
            cast(as_of as date) as as_of,
            cast(model as varchar) as model,
            cast(metric as varchar) as metric,
            cast(segment as varchar) as segment,
            cast(value as double) as value,
            cast(baseline_model as varchar) as baseline_model,
            cast(baseline_value as double) as baseline_value,
            cast(users as integer) as users,
            cast(is_chosen as boolean) as is_chosen,
            cast(training_window_start as date) as training_window_start,
            cast(training_window_end as date) as training_window_end,
            cast(evaluation_window_start as date) as evaluation_window_start,
            cast(evaluation_window_end as date) as evaluation_window_end
        from pred_model_evaluation_df
    """)
