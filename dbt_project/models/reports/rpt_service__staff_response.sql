-- Service staff over the 30 days up to the report day: inquiries, the 2-hour and 48-hour
-- response rates (kpi_response_daily), SLA breaches (matured 2 hours and not answered
-- within them) and the median and 90th percentile first response time in minutes of the
-- answered inquiries (fct_inquiries). One row per staff member of the department.
with staff as (
    select
        staff_id,
        name_masked as staff_name,
        department
    from {{ bi_ref('dim_staff') }}
),

rates as (
    select
        d.report_date,
        r.staff_id,
        sum(r.inquiries) as inquiries,
        sum(r.matured_2h) as matured_2h,
        sum(r.answered_2h) as answered_2h,
        sum(r.matured_48h) as matured_48h,
        sum(r.answered_48h) as answered_48h
    from {{ ref('rpt_report_days') }} as d
    inner join {{ bi_ref('kpi_response_daily') }} as r
        on r.date > d.report_date - 30 and r.date <= d.report_date
    group by 1, 2
),

frt as (
    select
        d.report_date,
        i.staff_id,
        quantile_cont(i.frt_seconds, 0.5) / 60 as frt_p50_minutes,
        quantile_cont(i.frt_seconds, 0.9) / 60 as frt_p90_minutes
    from {{ ref('rpt_report_days') }} as d
    inner join {{ bi_ref('fct_inquiries') }} as i
        on i.started_date > d.report_date - 30 and i.started_date <= d.report_date
    where i.responded_at is not null
    group by 1, 2
),

by_staff as (
    select
        d.report_date,
        s.department,
        s.staff_id,
        s.staff_name,
        coalesce(r.inquiries, 0) as inquiries,
        r.answered_2h / nullif(r.matured_2h, 0) as response_rate_2h,
        r.answered_48h / nullif(r.matured_48h, 0) as response_rate_48h,
        r.matured_2h - r.answered_2h as sla_breaches,
        f.frt_p50_minutes,
        f.frt_p90_minutes
    from {{ ref('rpt_report_days') }} as d
    cross join staff as s
    left join rates as r on r.report_date = d.report_date and r.staff_id = s.staff_id
    left join frt as f on f.report_date = d.report_date and f.staff_id = s.staff_id
)

select
    *,
    row_number() over (
        partition by report_date, department
        order by response_rate_2h desc nulls last, staff_id asc
    ) as sort_key
from by_staff
