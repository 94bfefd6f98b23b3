{{ config(alias='kpi_tag_completeness_daily') }}
-- BI view of marts.kpi_tag_completeness_daily: the same rows and columns (no personal data in this mart).
select
    date,
    department,
    active_contacts,
    complete_contacts,
    tag_completeness
from {{ bi_ref('kpi_tag_completeness_daily') }}
