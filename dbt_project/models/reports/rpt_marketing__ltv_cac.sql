-- LTV over CAC by channel (kpi_ltv_cac). The mart holds the build's as_of only: every report
-- day shows the same rows, the values as known to the build.
select
    d.report_date,
    l.channel,
    l.ltv_horizon_days,
    l.ltv_users,
    l.ltv,
    l.cac,
    l.ltv_cac_ratio,
    l.meets_ltv_cac_bar,
    row_number() over (
        partition by d.report_date
        order by l.channel = 'all' asc, l.ltv_cac_ratio desc nulls last, l.channel asc
    ) as sort_key
from {{ ref('rpt_report_days') }} as d
cross join {{ bi_ref('kpi_ltv_cac') }} as l
