-- Tag completeness of the active contacts at the end of the report day by department
-- (kpi_tag_completeness_daily) and the 6-hour tagging SLA of the contacts created in the 30
-- days up to the day (kpi_tagging_sla_daily); `all` last.
with sla as (
    select
        d.report_date,
        s.department,
        sum(s.contacts_created) as contacts_created_30d,
        sum(s.matured_6h) as matured_6h,
        sum(s.tagged_within_6h) as tagged_within_6h
    from {{ ref('rpt_report_days') }} as d
    inner join {{ bi_ref('kpi_tagging_sla_daily') }} as s
        on s.date > d.report_date - 30 and s.date <= d.report_date
    group by 1, 2
)

select
    d.report_date,
    t.department,
    t.active_contacts,
    t.complete_contacts,
    t.tag_completeness,
    s.contacts_created_30d,
    s.matured_6h,
    s.tagged_within_6h,
    s.tagged_within_6h / nullif(s.matured_6h, 0) as tagging_sla_6h_30d,
    row_number() over (
        partition by d.report_date order by t.department = 'all', t.department
    ) as sort_key
from {{ ref('rpt_report_days') }} as d
inner join {{ bi_ref('kpi_tag_completeness_daily') }} as t on t.date = d.report_date
left join sla as s on s.report_date = d.report_date and s.department = t.department
