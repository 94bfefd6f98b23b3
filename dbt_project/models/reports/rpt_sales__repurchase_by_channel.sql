-- 90-day repurchase by first-purchase cohort month and channel (kpi_repurchase_90d) for the
-- cohorts of the 6 months up to the report day, newest first, channel `all` first.
select
    d.report_date,
    r.cohort_month,
    r.channel,
    r.cohort_users,
    r.matured_users,
    r.repurchased_users,
    r.repurchase_rate_90d,
    r.immature_users,
    row_number() over (
        partition by d.report_date
        order by r.cohort_month desc, r.channel = 'all' desc, r.channel asc
    ) as sort_key
from {{ ref('rpt_report_days') }} as d
inner join {{ bi_ref('kpi_repurchase_90d') }} as r
    on r.cohort_month <= d.report_date and r.cohort_month > d.report_date - interval 6 month
