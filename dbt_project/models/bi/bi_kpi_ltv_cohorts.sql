{{ config(alias='kpi_ltv_cohorts') }}
-- BI view of marts.kpi_ltv_cohorts: the same rows and columns (no personal data in this mart).
select
    cohort_month,
    horizon_days,
    channel,
    users,
    is_complete,
    avg_ltv,
    total_ltv,
    matured_users
from {{ bi_ref('kpi_ltv_cohorts') }}
