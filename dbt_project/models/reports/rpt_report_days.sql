-- The days a department extract can be built for: every day of the business calendar
-- (marts.dim_dates) from the first to the last day kpi_department_daily has KPIs for, the
-- range `siyu deliver` accepts. Every rpt_ view is one row set per report_date of this spine.
with kpi_days as (
    select
        min(date) as first_day,
        max(date) as last_day
    from {{ bi_ref('kpi_department_daily') }}
)

select d.date_day as report_date
from {{ bi_ref('dim_dates') }} as d
inner join kpi_days as k
    on d.date_day between k.first_day and k.last_day
