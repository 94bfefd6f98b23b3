-- Headline of every extract: the latest value of each KPI the department is measured on
-- (seed kpi_catalog, column departments; `all`, the executive summary, has every KPI) and
-- the day it refers to, or why it has none (marts.kpi_department_latest, which holds the
-- build's as_of only, the last report day: a report of an earlier day has no headline rows). Durations show in
-- minutes, as in every table of the extracts (the mart keeps seconds). Rows come in the
-- catalog's order in the extract (ORDER BY there: the seed keeps no position).
select
    l.as_of as report_date,
    l.department,
    l.kpi,
    case when l.unit = 'seconds' then l.value / 60 else l.value end as value,
    case when l.unit = 'seconds' then l.target / 60 else l.target end as target,
    l.status,
    case when l.unit = 'seconds' then 'minutes' else l.unit end as unit,
    l.value_date,
    l.no_value_reason,
    l.first_value_on
from {{ bi_ref('kpi_department_latest') }} as l
inner join {{ bi_ref('kpi_catalog') }} as c
    on c.kpi = l.kpi
where l.department = 'all' or list_contains(string_split(c.departments, ' '), l.department)
