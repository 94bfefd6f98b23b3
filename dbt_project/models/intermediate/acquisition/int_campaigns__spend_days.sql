-- Campaign spend by day (docs/kpi-book.md "Acquisition"), the one home of the spend rule that
-- kpi_cac_monthly and kpi_department_daily both use: one row per campaign and day it ran. A
-- campaign's spend is allocated pro rata by day over start_date..end_date (both ends
-- inclusive): each of its campaign_days days carries spend_cny / campaign_days. A campaign
-- whose end_date is before its start_date never ran: no days, no spend. A campaign without a
-- department counts for `unknown`. Every day of every campaign, not cut at as_of: each mart
-- keeps the days it counts (kpi_cac_monthly the days up to as_of, kpi_department_daily the
-- days of dim_dates) and keeps its own arithmetic (kpi_cac_monthly one division per campaign
-- and month, spend_cny x days / campaign_days; kpi_department_daily a sum of daily_spend_cny).
with campaigns as (
    select
        campaign_id,
        channel,
        {{ department_or_unknown('department') }} as department,
        start_date,
        end_date,
        spend_cny,
        {{ dbt.datediff('start_date', 'end_date', 'day') }} + 1 as campaign_days
    from {{ ref('stg_crm__campaigns') }}
    where end_date >= start_date
)

select
    campaigns.campaign_id,
    campaigns.channel,
    campaigns.department,
    cast(days.spend_day as date) as spend_day,
    cast(date_trunc('month', days.spend_day) as date) as spend_month,
    campaigns.campaign_days,
    campaigns.spend_cny,
    cast(campaigns.spend_cny as {{ type_double() }}) / campaigns.campaign_days as daily_spend_cny
from campaigns,
    {{ day_series(
        'cast(campaigns.start_date as timestamp)', 'cast(campaigns.end_date as timestamp)'
    ) }} as days (spend_day)
