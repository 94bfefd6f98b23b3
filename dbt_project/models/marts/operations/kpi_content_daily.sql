-- Content open and click rates (社群内容打开率, docs/kpi-book.md "Content and community") per day of
-- sent_time, channel and department of the pushing staff member. Rows: every calendar day x
-- (each channel and 'all') x (each department and 'all'); channel = 'all' sums the day's
-- pushes over channels, department = 'all' over departments. Per docs/kpi-book.md the counts are
-- SUMS over pushes of per-push distinct recipients (a recipient of two pushes counts twice).
-- open_rate = openers / reached_recipients, click_rate = clickers / reached_recipients, NULL
-- when nothing was reached.
with calendar as (
    select date_day from {{ ref('dim_dates') }}
),

pushes as (
    select sent_date, channel, department, reached, openers, clickers
    from {{ ref('fct_content_pushes') }}
),

daily as (
    select
        sent_date,
        {{ company_total_label('channel') }} as channel,
        {{ company_total_label('department') }} as department,
        count(*) as pushes,
        sum(reached) as reached_recipients,
        sum(openers) as openers,
        sum(clickers) as clickers
    from pushes
    {{ group_with_company_total(['sent_date'], ['channel', 'department']) }}
),

channels as (
    select distinct channel from pushes
    union
    select 'all'
),

departments as (
    select department from {{ ref('stg_crm__staff') }}
    union
    select department from pushes
    union
    select 'all'
)

select
    calendar.date_day as date,
    channels.channel,
    departments.department,
    coalesce(daily.pushes, 0) as pushes,
    cast(coalesce(daily.reached_recipients, 0) as bigint) as reached_recipients,
    cast(coalesce(daily.openers, 0) as bigint) as openers,
    cast(coalesce(daily.clickers, 0) as bigint) as clickers,
    case
        when daily.reached_recipients > 0 then cast(daily.openers as {{ type_double() }}) / daily.reached_recipients
    end as open_rate,
    case
        when daily.reached_recipients > 0 then cast(daily.clickers as {{ type_double() }}) / daily.reached_recipients
    end as click_rate
from calendar
cross join channels
cross join departments
left join daily
    on daily.sent_date = calendar.date_day
   and daily.channel = channels.channel
   and daily.department = departments.department
