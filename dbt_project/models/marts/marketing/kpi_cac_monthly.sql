-- CAC (docs/kpi-book.md "Acquisition") per business-calendar month and channel (+ channel = 'all'):
-- spend_cny = campaign spend allocated pro rata by day over start_date..end_date (both ends
-- inclusive: spend / (end_date - start_date + 1) per day; the days of each campaign are
-- int_campaigns__spend_days, the rule's one home, shared with kpi_department_daily), counting
-- only days up to as_of (the as_of month is month-to-date, like its new contacts);
-- new_contacts = contacts of that source_channel created in the month before the end of as_of
-- (deleted later or not); cac = spend_cny / new_contacts, NULL when there are none. Money is
-- DECIMAL(18,2): a campaign's share of a month is one division (spend x days / campaign days),
-- summed and rounded once per month and channel (cac from the unrounded spend). A campaign
-- whose end_date is before its start_date has no days and no spend.
with calendar_months as (
    select distinct month_start from {{ ref('dim_dates') }}
),

-- the campaigns' spend days up to as_of
spend_days as (
    select campaign_id, channel, spend_month, campaign_days, spend_cny
    from {{ ref('int_campaigns__spend_days') }}
    where spend_day < {{ as_of_end() }}
),

-- one division per campaign and month: spend x (its days in the month up to as_of) / its days
campaign_months as (
    select
        channel,
        spend_month as month_start,
        cast(spend_cny as {{ type_double() }}) * count(*)
            / {{ any_value('campaign_days') }} as allocated_spend
    from spend_days
    group by campaign_id, channel, spend_cny, spend_month
),

monthly_spend as (
    select
        month_start,
        {{ company_total_label('channel') }} as channel,
        sum(allocated_spend) as spend_cny
    from campaign_months
    {{ group_with_company_total(['month_start'], 'channel') }}
),

contacts as (
    select cast(date_trunc('month', created_at) as date) as month_start, source_channel as channel
    from {{ ref('stg_crm__contacts') }}
    where created_at < {{ as_of_end() }}
),

monthly_contacts as (
    select
        month_start,
        {{ company_total_label('channel') }} as channel,
        count(*) as new_contacts
    from contacts
    {{ group_with_company_total(['month_start'], 'channel') }}
),

months as (
    select month_start from calendar_months
    union
    select month_start from monthly_spend
),

channels as (
    select channel from {{ ref('int_campaigns__spend_days') }}
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
