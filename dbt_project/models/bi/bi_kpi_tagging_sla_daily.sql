{{ config(alias='kpi_tagging_sla_daily') }}
-- BI view of marts.kpi_tagging_sla_daily: the same rows and columns (no personal data in this mart).
select
    date,
    department,
    contacts_created,
    matured_6h,
    tagged_within_6h,
    tagging_sla_6h,
    tagged_before_created
from {{ bi_ref('kpi_tagging_sla_daily') }}
