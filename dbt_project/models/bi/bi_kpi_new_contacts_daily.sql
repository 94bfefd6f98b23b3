{{ config(alias='kpi_new_contacts_daily') }}
-- BI view of marts.kpi_new_contacts_daily: the same rows and columns (no personal data in this mart).
select
    date,
    source_channel,
    department,
    new_contacts
from {{ bi_ref('kpi_new_contacts_daily') }}
