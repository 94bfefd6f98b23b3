-- Each department's KPIs over the 30 days up to each report day: one column per KPI of the
-- seed kpi_catalog (kpi_department_daily's values; durations in minutes, column
-- `<kpi without _seconds>_minutes`), one row per day of the calendar. An extract selects the
-- columns of its department's KPIs. A KPI added to the catalog needs its column here
-- (tests/test_extracts.py checks that every catalog KPI has one).
with trend_days as (
    select
        r.report_date,
        d.date_day as date
    from {{ ref('rpt_report_days') }} as r
    inner join {{ bi_ref('dim_dates') }} as d
        on d.date_day > r.report_date - 30 and d.date_day <= r.report_date
),

departments as (
    select distinct department from {{ bi_ref('kpi_department_daily') }}
)

select
    t.report_date,
    p.department,
    t.date,
    max(k.value) filter (where k.kpi = 'new_contacts') as new_contacts,
    max(k.value) filter (where k.kpi = 'cac') as cac,
    max(k.value) filter (where k.kpi = 'net_revenue') as net_revenue,
    max(k.value) filter (where k.kpi = 'aov') as aov,
    max(k.value) filter (where k.kpi = 'repurchase_rate_90d') as repurchase_rate_90d,
    max(k.value) filter (where k.kpi = 'tag_completeness') as tag_completeness,
    max(k.value) filter (where k.kpi = 'tagging_sla_6h') as tagging_sla_6h,
    max(k.value) filter (where k.kpi = 'content_open_rate') as content_open_rate,
    max(k.value) filter (where k.kpi = 'one_on_one_effective_rate') as one_on_one_effective_rate,
    max(k.value) filter (where k.kpi = 'response_rate_2h') as response_rate_2h,
    max(k.value) filter (where k.kpi = 'response_rate_48h') as response_rate_48h,
    max(k.value / 60) filter (where k.kpi = 'frt_p50_seconds') as frt_p50_minutes,
    max(k.value) filter (where k.kpi = 'nps') as nps
from trend_days as t
cross join departments as p
left join {{ bi_ref('kpi_department_daily') }} as k
    on k.date = t.date and k.department = p.department
group by t.report_date, p.department, t.date
