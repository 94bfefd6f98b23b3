-- The executive summary's matrix: every KPI (rows) by department (columns): the value of the
-- report day and its status (kpi_department_daily). Rows come in the KPI catalog's order in
-- the extract (ORDER BY there: the seed keeps no position).
select
    d.report_date,
    k.kpi,
    any_value(k.unit) as unit,
    max(k.value) filter (where k.department = 'marketing') as marketing,
    max(k.status) filter (where k.department = 'marketing') as marketing_status,
    max(k.value) filter (where k.department = 'operations') as operations,
    max(k.status) filter (where k.department = 'operations') as operations_status,
    max(k.value) filter (where k.department = 'sales') as sales,
    max(k.status) filter (where k.department = 'sales') as sales_status,
    max(k.value) filter (where k.department = 'service') as service,
    max(k.status) filter (where k.department = 'service') as service_status,
    max(k.value) filter (where k.department = 'all') as "all",
    max(k.status) filter (where k.department = 'all') as all_status
from {{ ref('rpt_report_days') }} as d
inner join {{ bi_ref('kpi_department_daily') }} as k
    on k.date = d.report_date
group by d.report_date, k.kpi
