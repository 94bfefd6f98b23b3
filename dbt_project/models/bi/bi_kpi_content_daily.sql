{{ config(alias='kpi_content_daily') }}
-- BI view of marts.kpi_content_daily: the same rows and columns (no personal data in this mart).
select
    date,
    channel,
    department,
    pushes,
    reached_recipients,
    openers,
    clickers,
    open_rate,
    click_rate
from {{ bi_ref('kpi_content_daily') }}
