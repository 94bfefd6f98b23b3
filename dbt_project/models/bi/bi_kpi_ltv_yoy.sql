{{ config(alias='kpi_ltv_yoy') }}
-- BI view of marts.kpi_ltv_yoy: the same rows and columns (no personal data in this mart).
select
    cohort_month,
    channel,
    users,
    avg_ltv_365d,
    is_complete,
    prior_cohort_month,
    prior_users,
    prior_avg_ltv_365d,
    ltv_yoy_growth
from {{ bi_ref('kpi_ltv_yoy') }}
