-- CAC (kpis.md "Acquisition") per business-calendar month and channel (+ channel = 'all'):
-- spend_cny = campaign spend allocated pro rata by day over start_date..end_date (both ends
-- inclusive: spend / (end_date - start_date + 1) per day), counting only days up to as_of
-- (the as_of month is month-to-date, like its new contacts); new_contacts = contacts of that
-- source_channel created in the month before the end of as_of (deleted later or not);
-- cac = spend_cny / new_contacts, NULL when there are none. Money is DECIMAL(18,2): a
-- campaign's share of a month is one division (spend x days / campaign days), summed and
-- rounded once per month and channel (cac from the unrounded spend). A campaign whose end_date is
-- before its start_date has no days and no spend.
with calendar_months as (
    select distinct month_start from {{ ref('dim_dates') }}
),

campaigns as (
    select
        campaign_id,
        channel,
        start_date,
        end_date,
        spend_cny,
        {{ dbt.datediff('start_date', 'end_date', 'day') }} + 1 as campaign_days
    from {{ ref('stg_crm__campaigns') }}
    where end_date >= start_date
),

campaign_days as (
    select
        campaigns.campaign_id,
        cast(date_trunc('month', days.spend_day) as date) as month_start
    from campaigns,
        {{ day_series(
            'cast(campaigns.start_date as timestamp)', 'cast(campaigns.end_date as timestamp)'
        ) }} as days (spend_day)
    where days.spend_day < {{ as_of_end() }}
),

-- one division per campaign and month: spend x (its days in the month up to as_of) / its days
campaign_months as (
    select
        campaigns.channel,
        campaign_days.month_start,
        cast(campaigns.spend_cny as {{ type_double() }}) * count(*)
            / {{ any_value('campaigns.campaign_days') }} as allocated_spend
    from campaign_days
    inner join campaigns on campaigns.campaign_id = campaign_days.campaign_id
    group by campaigns.campaign_id, campaigns.channel, campaigns.spend_cny, campaign_days.month_start
),

monthly_spend as (
    select
        month_start,
        case when grouping(channel) = 1 then 'all' else channel end as channel,
        sum(allocated_spend) as spend_cny
    from campaign_months
    group by grouping sets ((month_start, channel), (month_start))
),

contacts as (
    select cast(date_trunc('month', created_at) as date) as month_start, source_channel as channel
    from {{ ref('stg_crm__contacts') }}
    where created_at < {{ as_of_end() }}
),

monthly_contacts as (
    select
        month_start,
        case when grouping(channel) = 1 then 'all' else channel end as channel,
        count(*) as new_contacts
    from contacts
    group by grouping sets ((month_start, channel), (month_start))
),

months as (
    select month_start from calendar_months
    union
    select month_start from monthly_spend
),

channels as (
    select channel from campaigns
    union
    select channel from contacts
    union
    select 'all'
),

combined as (
    select
        months.month_start,
        channels.channel,
        {{ decimal_of_double("coalesce(monthly_spend.spend_cny, 0)") }} as spend_cny,
        coalesce(monthly_contacts.new_contacts, 0) as new_contacts,
        coalesce(monthly_spend.spend_cny, 0) as exact_spend
    from months
    cross join channels
    left join monthly_spend
        on monthly_spend.month_start = months.month_start and monthly_spend.channel = channels.channel
    left join monthly_contacts
        on monthly_contacts.month_start = months.month_start and monthly_contacts.channel = channels.channel
)

select
    month_start as month,
    channel,
    spend_cny,
    new_contacts,
    case when new_contacts > 0 then {{ decimal_of_double("exact_spend / new_contacts") }} end as cac
from combined
