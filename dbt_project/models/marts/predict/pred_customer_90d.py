"""Published: each buyer's chance to buy again and expected value over the next 90 days
(docs/kpi-book.md#predictive-kpis), scored by the model pred_model_evaluation chose on
held-out history, trained on every purchase up to the end of as_of (fixed seed: the same
inputs give the same scores). The code is siyu.predict. DuckDB only.
"""

import pandas as pd


def model(dbt, session):
    # dbt enforces model contracts on SQL models only (the SQL marts have one on DuckDB)
    dbt.config(materialized="table", contract={"enforced": False})
    from siyu import predict

    days = dbt.ref("fct_user_purchase_days").df()
    buyers = dbt.ref("fct_buyer_features").df()
    evaluation = dbt.ref("pred_model_evaluation").df()
    chosen = evaluation.loc[evaluation["is_chosen"].astype(bool), "model"]
    model_name = str(chosen.iloc[0]) if len(chosen) else predict.DEFAULT_MODEL
    if len(buyers):
        as_of = pd.Timestamp(buyers["as_of"].iloc[0]).date()
        scores = predict.score(days, buyers, as_of, model_name)
    else:
        scores = pd.DataFrame(columns=predict.SCORE_COLUMNS)
    session.register("pred_customer_90d_df", scores)
    return session.sql("""
        select
            cast(user_id as varchar) as user_id,
            cast(as_of as date) as as_of,
            cast(source_channel as varchar) as source_channel,
            cast(department as varchar) as department,
            cast(p_purchase_90d as double) as p_purchase_90d,
            cast(expected_purchases_90d as double) as expected_purchases_90d,
            cast(expected_net_revenue_90d as decimal(18, 2)) as expected_net_revenue_90d,
            cast(net_revenue_last_90d as decimal(18, 2)) as net_revenue_last_90d,
            cast(value_at_risk_90d as decimal(18, 2)) as value_at_risk_90d,
            cast(model_version as varchar) as model_version
        from pred_customer_90d_df
    """)
