{{ config(alias='kpi_ltv_cohorts_by_department') }}
-- BI view of marts.kpi_ltv_cohorts_by_department: the same rows and columns (no personal data in this mart).
select
    cohort_month,
    horizon_days,
    department,
    users,
    is_complete,
    avg_ltv,
    total_ltv,
    matured_users
from {{ bi_ref('kpi_ltv_cohorts_by_department') }}
