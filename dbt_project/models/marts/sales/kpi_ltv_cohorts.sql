-- Published: cohort LTV (docs/kpi-book.md "LTV"). Users are grouped by the month of their first
-- qualifying purchase (t0). For horizon H in (30, 90, 180, 365) days, avg_ltv = average over
-- the cohort's users of the net revenue of their paid orders with paid_at <= t0 + H days.
-- A cohort-horizon pair is complete only when every user has had H full days
-- (t0 + H days <= end of as_of); otherwise is_complete = false and avg_ltv is NULL, never a
-- partial average. channel = the unified user's source_channel; 'all' is the total.
with user_horizon_ltv as (
    select * from {{ ref('fct_user_cohort_ltv') }}
)

select
    cohort_month,
    horizon_days,
    {{ company_total_label('source_channel') }} as channel,
    count(*) as users,
    bool_and(is_mature) as is_complete,
    case when bool_and(is_mature) then {{ decimal_of_double("avg(ltv)") }} end as avg_ltv,
    case when bool_and(is_mature) then cast(sum(ltv) as decimal(18, 2)) end as total_ltv,
    count(*) filter (where is_mature) as matured_users
from user_horizon_ltv
{{ group_with_company_total(['cohort_month', 'horizon_days'], 'source_channel') }}
