-- The target and status of each KPI on the report day, per department
-- (kpi_department_daily): the target lines and colours of the trend charts of every extract
-- (the KPI trends of the department, the headline trends of `all`). The target is in the unit
-- of the KPI's trend column (durations in minutes, column `<kpi without _seconds>_minutes`).
select
    d.report_date,
    k.department,
    k.kpi,
    case
        when k.unit = 'seconds' then regexp_replace(k.kpi, '_seconds$', '') || '_minutes'
        else k.kpi
    end as trend_column,
    case when k.unit = 'seconds' then k.target / 60 else k.target end as target,
    k.status
from {{ ref('rpt_report_days') }} as d
inner join {{ bi_ref('kpi_department_daily') }} as k on k.date = d.report_date
