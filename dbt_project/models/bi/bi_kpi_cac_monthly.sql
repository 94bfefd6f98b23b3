{{ config(alias='kpi_cac_monthly') }}
-- BI view of marts.kpi_cac_monthly: the same rows and columns (no personal data in this mart).
select
    month,
    channel,
    spend_cny,
    new_contacts,
    cac
from {{ bi_ref('kpi_cac_monthly') }}
