{{ config(alias='kpi_ltv_cac') }}
-- BI view of marts.kpi_ltv_cac: the same rows and columns (no personal data in this mart).
select
    channel,
    ltv_horizon_days,
    ltv_users,
    ltv,
    spend_cny,
    new_contacts,
    cac,
    ltv_cac_ratio,
    meets_ltv_cac_bar
from {{ bi_ref('kpi_ltv_cac') }}
