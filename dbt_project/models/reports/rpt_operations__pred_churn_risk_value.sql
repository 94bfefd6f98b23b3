-- The operations team's win-back list, company-wide: the 50 churn-risk and silent buyers
-- (lifecycle stage of marts.dim_users) with the most net revenue at risk in the next 90 days
-- (marts.pred_customer_90d). The scores exist for the build's as_of only: a report of another
-- day shows none.
with ranked as (
    select
        d.report_date,
        rank() over (
            partition by d.report_date
            order by p.value_at_risk_90d desc, p.user_id asc
        ) as rank,
        p.user_id,
        u.lifecycle_stage,
        p.department,
        p.p_purchase_90d,
        p.net_revenue_last_90d,
        p.value_at_risk_90d,
        p.expected_net_revenue_90d
    from {{ ref('rpt_report_days') }} as d
    inner join {{ bi_ref('pred_customer_90d') }} as p on p.as_of = d.report_date
    inner join {{ bi_ref('dim_users') }} as u on p.user_id = u.user_id
    where u.lifecycle_stage in ('churn_risk', 'silent') and p.value_at_risk_90d > 0
)

select
    *,
    rank as sort_key
from ranked
where rank <= 50
