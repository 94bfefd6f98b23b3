{{ config(alias='kpi_one_on_one_effective_department_daily') }}
-- BI view of marts.kpi_one_on_one_effective_department_daily: the same rows and columns (no personal data in this mart).
select
    date,
    department,
    outreaches,
    matured_outreaches,
    effective_outreaches,
    effective_rate_48h
from {{ bi_ref('kpi_one_on_one_effective_department_daily') }}
