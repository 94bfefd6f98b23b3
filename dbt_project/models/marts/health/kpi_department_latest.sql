-- Published: the latest value of every KPI per department as of the run's day, for headlines
-- that always show a number. A KPI's value on the as-of day itself is often NULL although the
-- KPI is fine: the 48h response rate of inquiries started that day has not matured, the
-- 90-day repurchase rate waits for a cohort to mature, a rate has no denominator that day. So
-- this takes, per department and KPI, the row of kpi_department_daily with the latest date
-- that has a value (its value, target and status as published that day) and says which day
-- the value refers to. A KPI that has never had a value gets a reason code instead, and for the
-- cohort KPI the first day a cohort matures.
with daily as (
    select * from {{ ref('kpi_department_daily') }}
),

run_day as (
    select max(date) as as_of from daily
),

latest as (
    select
        department,
        kpi,
        max(case when value is not null then date end) as value_date
    from daily
    group by 1, 2
),

-- the first day the 90-day repurchase rate can have a value: the end of the first cohort month
-- + 90 days (as in kpi_department_daily: month_end + 90 days <= end of the day)
first_cohort as (
    select cast(min(cohort_month) + interval '1 month' + interval '89 day' as date) as first_matured_on
    from {{ ref('fct_user_repurchase_90d') }}
)

select
    r.as_of,
    l.department,
    l.kpi,
    d.value,
    l.value_date,
    {{ dbt.datediff('l.value_date', 'r.as_of', 'day') }} as days_behind,
    coalesce(d.target, today.target) as target,
    d.status,
    today.direction,
    today.unit,
    case
        when l.value_date is not null then null
        when l.kpi = 'repurchase_rate_90d'
             and (f.first_matured_on is null or f.first_matured_on > r.as_of) then 'no_cohort_matured'
        else 'no_events'
    end as no_value_reason,
    case
        when l.value_date is null and l.kpi = 'repurchase_rate_90d' and f.first_matured_on > r.as_of
            then f.first_matured_on
    end as first_value_on
from latest as l
cross join run_day as r
cross join first_cohort as f
inner join daily as today
    on today.department = l.department and today.kpi = l.kpi and today.date = r.as_of
left join daily as d
    on d.department = l.department and d.kpi = l.kpi and d.date = l.value_date
