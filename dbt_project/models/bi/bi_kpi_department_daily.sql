{{ config(alias='kpi_department_daily') }}
-- BI view of marts.kpi_department_daily: the same rows and columns (no personal data in this mart).
select
    date,
    department,
    kpi,
    value,
    target,
    status,
    numerator,
    denominator,
    direction,
    unit,
    shortfall
from {{ bi_ref('kpi_department_daily') }}
