-- 1v1 effective communication rate per day x department (docs/kpi-book.md "1v1 effective
-- communication rate"); department 'all' is the company total. Rate = sum effective /
-- sum matured outreaches of the department-day (never an average of staff rates). One
-- row for every day of dim_dates and every department of a current staff member (plus
-- 'all'): a day without outreaches reads 0 outreaches and a NULL rate.
with outreaches as (
    select * from {{ ref('fct_outreaches') }}
),

days as (
    select date_day from {{ ref('dim_dates') }}
),

departments as (
    select department from {{ ref('stg_crm__staff') }}
    union
    select department from outreaches
    union
    select 'all'
),

aggregated as (
    select
        started_date,
        {{ company_total_label('department') }} as department,
        count(*) as outreaches,
        count(*) filter (where is_matured_48h) as matured_outreaches,
        count(*) filter (where is_matured_48h and is_effective) as effective_outreaches
    from outreaches
    {{ group_with_company_total(['started_date'], 'department') }}
)

select
    d.date_day as {{ adapter.quote('date') }},
    dep.department,
    coalesce(a.outreaches, 0) as outreaches,
    coalesce(a.matured_outreaches, 0) as matured_outreaches,
    coalesce(a.effective_outreaches, 0) as effective_outreaches,
    {{ conversations_rate('a.effective_outreaches', 'a.matured_outreaches') }} as effective_rate_48h
from days as d
cross join departments as dep
left join aggregated as a
    on a.started_date = d.date_day and a.department = dep.department
