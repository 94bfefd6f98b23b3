-- The inquiries started on the report day that breached the 2-hour SLA (matured, not
-- answered within 2 hours), per department of the inquiry and company-wide as department
-- `all`, in the order they started.
with breaches as (
    select
        d.report_date,
        i.department,
        i.inquiry_id,
        i.staff_id,
        s.name_masked as staff_name,
        i.started_at,
        i.responded_at,
        i.frt_seconds / 60 as frt_minutes
    from {{ ref('rpt_report_days') }} as d
    inner join {{ bi_ref('fct_inquiries') }} as i on i.started_date = d.report_date
    left join {{ bi_ref('dim_staff') }} as s on i.staff_id = s.staff_id
    where i.is_matured_2h and not i.is_answered_2h
),

by_department as (
    select * from breaches
    union all
    select
        report_date,
        'all' as department,
        inquiry_id,
        staff_id,
        staff_name,
        started_at,
        responded_at,
        frt_minutes
    from breaches
)

select
    *,
    row_number() over (
        partition by report_date, department order by started_at, inquiry_id
    ) as sort_key
from by_department
