{{ config(alias='kpi_lifecycle_daily') }}
-- BI view of marts.kpi_lifecycle_daily: the same rows and columns (no personal data in this mart).
select
    date,
    department,
    lifecycle_stage,
    users,
    share_of_users
from {{ bi_ref('kpi_lifecycle_daily') }}
