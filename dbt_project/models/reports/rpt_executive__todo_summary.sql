-- Open SOP tasks at the end of the report day by department and task type
-- (marts.fct_activation_tasks): how many, and the oldest one's age in hours.
with summary as (
    select
        d.report_date,
        t.department,
        t.task_type,
        count(*) as tasks,
        max(t.age_hours) as oldest_hours,
        min(t.priority) as top_priority
    from {{ ref('rpt_report_days') }} as d
    inner join {{ bi_ref('fct_activation_tasks') }} as t on t.as_of = d.report_date
    group by d.report_date, t.department, t.task_type
)

select
    report_date,
    department,
    task_type,
    tasks,
    oldest_hours,
    row_number() over (
        partition by report_date order by department, top_priority, task_type
    ) as sort_key
from summary
