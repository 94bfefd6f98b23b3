-- NPS by month and department (kpi_nps_monthly) for the 6 months up to the report day, newest
-- first, `all` first within a month.
select
    d.report_date,
    n.month,
    n.department,
    n.responses,
    n.promoters,
    n.passives,
    n.detractors,
    n.nps,
    row_number() over (
        partition by d.report_date
        order by n.month desc, n.department = 'all' desc, n.department asc
    ) as sort_key
from {{ ref('rpt_report_days') }} as d
inner join {{ bi_ref('kpi_nps_monthly') }} as n
    on n.month <= d.report_date and n.month > d.report_date - interval 6 month
