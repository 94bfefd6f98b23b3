{{ config(alias='kpi_repurchase_90d_by_owner') }}
-- BI view of marts.kpi_repurchase_90d_by_owner: the same rows and columns (no personal data in this mart).
select
    cohort_month,
    department,
    owner_staff_id,
    cohort_users,
    matured_users,
    repurchased_users,
    repurchase_rate_90d,
    immature_users
from {{ bi_ref('kpi_repurchase_90d_by_owner') }}
