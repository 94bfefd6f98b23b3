-- The lifecycle distribution at the end of the report day by department (kpi_lifecycle_daily):
-- users and the share in each stage; `all` last. Shown to operations and in the executive
-- summary.
select
    d.report_date,
    l.department,
    sum(l.users) as users,
    sum(l.share_of_users) filter (where l.lifecycle_stage = 'new') as new,
    sum(l.share_of_users) filter (where l.lifecycle_stage = 'active') as active,
    sum(l.share_of_users) filter (where l.lifecycle_stage = 'high_value') as high_value,
    sum(l.share_of_users) filter (where l.lifecycle_stage = 'churn_risk') as churn_risk,
    sum(l.share_of_users) filter (where l.lifecycle_stage = 'silent') as silent,
    row_number() over (
        partition by d.report_date order by l.department = 'all', l.department
    ) as sort_key
from {{ ref('rpt_report_days') }} as d
inner join {{ bi_ref('kpi_lifecycle_daily') }} as l on l.date = d.report_date
group by d.report_date, l.department
