-- Response rates and FRT per day x department (docs/kpi-book.md "Response rates"); department
-- 'all' is the company total. Rates = sum answered / sum matured over the inquiries of the
-- department-day (never an average of staff rates); FRT quantiles over the answered
-- inquiries of the department-day. One row for every day of dim_dates and every
-- department of a current staff member (plus 'all'), so a day without inquiries reads
-- 0 inquiries and NULL rates rather than missing.
with inquiries as (
    select * from {{ ref('fct_inquiries') }}
),

days as (
    select date_day from {{ ref('dim_dates') }}
),

departments as (
    select department from {{ ref('stg_crm__staff') }}
    union
    select department from inquiries
    union
    select 'all'
),

aggregated as (
    select
        started_date,
        {{ company_total_label('department') }} as department,
        count(*) as inquiries,
        count(*) filter (where is_matured_2h) as matured_2h,
        count(*) filter (where is_matured_2h and is_answered_2h) as answered_2h,
        count(*) filter (where is_matured_48h) as matured_48h,
        count(*) filter (where is_matured_48h and is_answered_48h) as answered_48h,
        {{ round_double(percentile_cont('frt_seconds', 0.5), 3) }} as frt_p50_seconds,
        {{ round_double(percentile_cont('frt_seconds', 0.9), 3) }} as frt_p90_seconds,
        {{ round_double(percentile_cont('frt_business_seconds', 0.5), 3) }} as frt_business_p50_seconds,
        {{ round_double(percentile_cont('frt_business_seconds', 0.9), 3) }} as frt_business_p90_seconds
    from inquiries
    {{ group_with_company_total(['started_date'], 'department') }}
)

select
    d.date_day as {{ adapter.quote('date') }},
    dep.department,
    coalesce(a.inquiries, 0) as inquiries,
    coalesce(a.matured_2h, 0) as matured_2h,
    coalesce(a.answered_2h, 0) as answered_2h,
    {{ conversations_rate('a.answered_2h', 'a.matured_2h') }} as response_rate_2h,
    coalesce(a.matured_48h, 0) as matured_48h,
    coalesce(a.answered_48h, 0) as answered_48h,
    {{ conversations_rate('a.answered_48h', 'a.matured_48h') }} as response_rate_48h,
    a.frt_p50_seconds,
    a.frt_p90_seconds,
    a.frt_business_p50_seconds,
    a.frt_business_p90_seconds
from days as d
cross join departments as dep
left join aggregated as a
    on a.started_date = d.date_day and a.department = dep.department
