-- The business calendar: one row per business-timezone day from the first day any source
-- has an event on to the as-of day (docs/kpi-book.md "Conventions": every KPI day, week and month
-- is a business-timezone calendar period). Daily KPI marts are built over these days.
with bounds as (
    select
        least(
            (select min(cast(created_at as date)) from {{ ref('stg_crm__contacts') }}),
            (select min(cast(created_at as date)) from {{ ref('stg_shop__orders') }}),
            (select min(cast(sent_at as date)) from {{ ref('stg_community__messages') }})
        ) as first_day,
        {% if var('as_of') -%}
        cast('{{ var("as_of") }}' as date)
        {%- else -%}
        greatest(
            (select max(cast(created_at as date)) from {{ ref('stg_crm__contacts') }}),
            (select max(cast(created_at as date)) from {{ ref('stg_shop__orders') }}),
            (select max(cast(sent_at as date)) from {{ ref('stg_community__messages') }})
        )
        {%- endif %} as last_day
),

days as (
    select {{ day_series_dates('cast(first_day as timestamp)', 'cast(last_day as timestamp)') }}
        as date_day
    from bounds
    where first_day is not null and last_day >= first_day
)

select
    date_day,
    cast(date_day as timestamp) as day_start,
    cast(date_day as timestamp) + interval '1 day' as day_end,
    cast(date_trunc('week', date_day) as date) as week_start,
    cast(date_trunc('month', date_day) as date) as month_start,
    cast(extract(year from date_day) as integer) as year,
    cast({{ iso_day_of_week('date_day') }} as integer) as iso_day_of_week,
    {{ iso_day_of_week('date_day') }} >= 6 as is_weekend,
    date_day = {{ month_end('date_day') }} as is_month_end
from days
