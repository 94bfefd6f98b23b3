{{ config(alias='kpi_nps_monthly') }}
-- BI view of marts.kpi_nps_monthly: the same rows and columns (no personal data in this mart).
select
    month,
    department,
    responses,
    promoters,
    passives,
    detractors,
    nps
from {{ bi_ref('kpi_nps_monthly') }}
