{{ config(alias='kpi_active_users_daily') }}
-- BI view of marts.kpi_active_users_daily: the same rows and columns (no personal data in this mart).
select
    date,
    department,
    dau,
    mau,
    dau_mau_ratio
from {{ bi_ref('kpi_active_users_daily') }}
