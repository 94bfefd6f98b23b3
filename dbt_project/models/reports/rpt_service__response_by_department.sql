-- Inquiries, the 2-hour and 48-hour response rates and the first response time (minutes)
-- of the report day by department (kpi_response_department_daily; `all` last).
select
    d.report_date,
    r.department,
    r.inquiries,
    r.response_rate_2h,
    r.response_rate_48h,
    r.frt_p50_seconds / 60 as frt_p50_minutes,
    r.frt_p90_seconds / 60 as frt_p90_minutes,
    row_number() over (
        partition by d.report_date order by r.department = 'all', r.department
    ) as sort_key
from {{ ref('rpt_report_days') }} as d
inner join {{ bi_ref('kpi_response_department_daily') }} as r on r.date = d.report_date
